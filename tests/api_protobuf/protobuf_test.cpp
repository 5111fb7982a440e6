// The protobuf request-body decoder: the wire reader, the envelope, and the schema-driven decoding
// into the JSON Go's encoder writes, against hand-built wire bytes. Expected JSON follows the Go
// types (k8s.io/api v0.32): what `kubectl create … --dry-run=client -o json` prints for the same object.
#include "kernel/api/protobuf.hpp"

#include <gtest/gtest.h>

#include <random>

namespace skiff::kernel::api {
namespace {

using plugin::Code;

// A tiny protobuf writer for building test bodies.
class Pb {
 public:
  Pb& varint(std::uint32_t number, std::uint64_t v) {
    tag(number, 0);
    raw_varint(v);
    return *this;
  }
  Pb& str(std::uint32_t number, std::string_view s) {
    tag(number, 2);
    raw_varint(s.size());
    out_.append(s);
    return *this;
  }
  Pb& msg(std::uint32_t number, const Pb& m) { return str(number, m.out_); }
  Pb& fixed64(std::uint32_t number, std::uint64_t v) {
    tag(number, 1);
    for (int k = 0; k < 8; ++k) out_ += static_cast<char>((v >> (8 * k)) & 0xFFu);
    return *this;
  }
  Pb& fixed32(std::uint32_t number, std::uint32_t v) {
    tag(number, 5);
    for (int k = 0; k < 4; ++k) out_ += static_cast<char>((v >> (8 * k)) & 0xFFu);
    return *this;
  }
  Pb& entry(std::uint32_t number, std::string_view key, std::string_view value) {
    return msg(number, Pb().str(1, key).str(2, value));
  }
  Pb& entry(std::uint32_t number, std::string_view key, const Pb& value) {
    return msg(number, Pb().str(1, key).msg(2, value));
  }
  Pb& tag(std::uint32_t number, std::uint32_t wire) {
    raw_varint((static_cast<std::uint64_t>(number) << 3) | wire);
    return *this;
  }
  Pb& raw_varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7Fu) | 0x80u);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
    return *this;
  }
  Pb& raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }
  const std::string& bytes() const { return out_; }
  std::size_t size() const { return out_.size(); }

 private:
  std::string out_;
};

std::string body(std::string_view api_version, std::string_view kind, const Pb& object) {
  Pb unknown;
  unknown.msg(1, Pb().str(1, api_version).str(2, kind)).msg(2, object).str(3, "").str(4, "");
  return std::string("k8s\0", 4) + unknown.bytes();
}

Json decode(std::string_view api_version, std::string_view kind, const Pb& object) {
  auto r = decode_protobuf_body(body(api_version, kind, object));
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : Json();
}

Json J(const char* text) { return Json::parse(text); }

Pb meta(std::string_view name) { return Pb().str(1, name).msg(8, Pb()); }

// A pod template with one container, as kubectl create deployment sends it.
Pb pod_template(std::string_view container, std::string_view image) {
  Pb c;
  c.str(1, container).str(2, image).msg(8, Pb()).str(13, "").str(14, "").varint(16, 0).varint(17, 0).varint(18, 0);
  Pb spec;
  spec.msg(2, c).str(3, "").str(6, "").varint(11, 0);
  return Pb().msg(1, Pb().msg(8, Pb()).entry(11, "app", "web")).msg(2, spec);
}

// ---------------------------------------------------------------------------------------------
// Wire reader

TEST(WireReader, ReadsEveryWireTypeWithOffsets) {
  Pb m;
  m.varint(1, 150).fixed64(2, 0x0102030405060708ull).str(3, "hi").fixed32(4, 0xA1B2C3D4u).varint(5, ~0ull);
  WireReader r(m.bytes(), 10);
  auto f = r.next();
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->number, 1u);
  EXPECT_EQ(f->wire, WireType::kVarint);
  EXPECT_EQ(f->value, 150u);
  EXPECT_EQ(f->offset, 10u);
  f = r.next();
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->wire, WireType::kFixed64);
  EXPECT_EQ(f->value, 0x0102030405060708ull);
  EXPECT_EQ(f->offset, 13u);
  f = r.next();
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->wire, WireType::kLengthDelimited);
  EXPECT_EQ(f->bytes, "hi");
  EXPECT_EQ(f->payload_offset, 24u);
  f = r.next();
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->wire, WireType::kFixed32);
  EXPECT_EQ(f->value, 0xA1B2C3D4u);
  f = r.next();
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->value, ~0ull);
  EXPECT_TRUE(r.done());
}

TEST(WireReader, ReturnsGroupsWhole) {
  Pb m;
  m.tag(7, 3).varint(1, 5).tag(8, 3).str(2, "x").tag(8, 4).tag(7, 4).varint(9, 1).tag(10, 3).tag(10, 4);
  WireReader r(m.bytes());
  auto f = r.next();
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f->number, 7u);
  EXPECT_EQ(f->wire, WireType::kStartGroup);
  EXPECT_EQ(f->bytes, m.bytes().substr(1, 7));  // the nested fields, without the end-group tag
  f = r.next();
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f->number, 9u);
  f = r.next();  // an empty group ends the message
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f->number, 10u);
  EXPECT_EQ(f->bytes, "");
  EXPECT_TRUE(r.done());
}

struct BadWire {
  const char* name;
  std::string bytes;
  const char* message;
};

TEST(WireReader, MalformedInputNamesTheByteOffset) {
  const BadWire cases[] = {
      {"truncated tag", std::string("\x08\x96", 2), "truncated varint at byte 1"},
      {"varint too long", std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),
       "varint overflows 64 bits at byte 1"},
      {"varint past 64 bits", std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11),
       "varint overflows 64 bits at byte 1"},
      {"length past the end", std::string("\x12\x05hi", 4),
       "length 5 runs past the end of its message (2 bytes left) at byte 1"},
      {"field number 0", std::string("\x00\x01", 2), "illegal field number 0 at byte 0"},
      {"wire type 6", std::string("\x0e", 1), "illegal wire type 6 at byte 0"},
      {"wire type 7", std::string("\x08\x01\x0f", 3), "illegal wire type 7 at byte 2"},
      {"end group alone", std::string("\x0c", 1), "end-group without a start-group at byte 0"},
      {"group never ends", std::string("\x0b\x08\x01", 3), "start-group without an end-group at byte 0"},
      {"truncated fixed64", std::string("\x09\x01\x02", 3), "truncated 64-bit value at byte 1"},
      {"truncated fixed32", std::string("\x0d\x01", 2), "truncated 32-bit value at byte 1"},
  };
  for (const auto& c : cases) {
    WireReader r(c.bytes);
    Status st;
    while (!r.done()) {
      auto f = r.next();
      if (!f) {
        st = f.status();
        break;
      }
    }
    EXPECT_EQ(st.code(), Code::kBadRequest) << c.name;
    EXPECT_EQ(st.message(), c.message) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Envelope

TEST(ProtobufBody, EnvelopeGivesApiVersionAndKind) {
  auto env = read_protobuf_envelope(body("apps/v1", "Deployment", Pb().varint(1, 1)));
  ASSERT_TRUE(env.is_ok()) << env.status().message();
  EXPECT_EQ(env->api_version, "apps/v1");
  EXPECT_EQ(env->kind, "Deployment");
  EXPECT_EQ(env->raw, std::string("\x08\x01", 2));
  EXPECT_EQ(env->raw_offset, 4u + 2u + 21u + 2u);  // magic, typeMeta tag+length, typeMeta, raw tag+length
}

TEST(ProtobufBody, RefusesWhatIsNotAProtobufBody) {
  auto r = decode_protobuf_body(R"({"kind":"Namespace"})");
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_EQ(r.status().message(),
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
  EXPECT_EQ(decode_protobuf_body("").status().code(), Code::kBadRequest);
  EXPECT_EQ(decode_protobuf_body(std::string("k8s\0", 4)).status().code(), Code::kBadRequest);
  r = decode_protobuf_body(std::string("k8s\0", 4) + Pb().msg(2, Pb()).bytes());
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_EQ(r.status().message(), "Object 'Kind' is missing in the protobuf body's envelope");
}

TEST(ProtobufBody, KindsWithoutASchemaAre415) {
  for (auto [av, kind] : {std::pair{"autoscaling/v1", "Scale"},
                          {"v1", "Binding"},
                          {"rbac.authorization.k8s.io/v1", "Role"},
                          {"apps/v2", "Deployment"}}) {
    auto r = decode_protobuf_body(body(av, kind, Pb()));
    EXPECT_EQ(r.status().code(), Code::kUnsupportedMediaType) << kind;
    EXPECT_EQ(r.status().message(),
              "the body of the request was in an unknown format - accepted media types include: "
              "application/json, application/yaml");
  }
}

// ---------------------------------------------------------------------------------------------
// Objects, as kubectl's typed-create commands send them

TEST(ProtobufBody, NamespaceAsKubectlCreateNamespace) {
  Json ns = decode("v1", "Namespace", Pb().msg(1, meta("team-a")).msg(2, Pb()).msg(3, Pb().str(1, "")));
  EXPECT_EQ(ns, J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a","creationTimestamp":null},
                      "spec":{},"status":{}})"));
}

TEST(ProtobufBody, DeploymentFollowsGoOmitEmpty) {
  Pb spec;
  spec.varint(1, 0)                                 // replicas: *int32, present → written even when 0
      .msg(2, Pb().entry(1, "app", "web"))          // selector
      .msg(3, pod_template("nginx", "nginx:1.25"))  // template
      .msg(4, Pb())                                 // strategy: a struct, always written
      .varint(5, 0)                                 // minReadySeconds: int32 omitempty, 0 → omitted
      .varint(7, 0);                                // paused: bool omitempty
  Json d = decode("apps/v1", "Deployment",
                  Pb().msg(1, Pb().str(1, "web").str(2, "").str(3, "").msg(8, Pb()).entry(11, "app", "web"))
                      .msg(2, spec)
                      .msg(3, Pb().varint(1, 0).varint(2, 0)));
  EXPECT_EQ(d, J(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","creationTimestamp":null,"labels":{"app":"web"}},
    "spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"nginx","image":"nginx:1.25","resources":{}}]}},
      "strategy":{}},
    "status":{}})"))
      << d.dump();
}

TEST(ProtobufBody, AbsentFieldsAreWrittenAsGoDoes) {
  Json d = decode("apps/v1", "Deployment", Pb());
  // selector is a pointer without omitempty (null); template and strategy are structs; the
  // container list is absent so there is nothing under template.spec but the struct fields.
  EXPECT_EQ(d, J(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"creationTimestamp":null},
    "spec":{"selector":null,"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":null}},
            "strategy":{}},
    "status":{}})"))
      << d.dump();
  // A container without a name still has "name": "" (no omitempty), as do a port's containerPort.
  Json c = decode("v1", "Pod", Pb().msg(2, Pb().msg(2, Pb().msg(6, Pb()))));
  EXPECT_EQ(c["spec"]["containers"], J(R"([{"name":"","resources":{},"ports":[{"containerPort":0}]}])")) << c.dump();
  EXPECT_EQ(c["status"], J("{}"));
}

TEST(ProtobufBody, ServicePortsAndIntOrString) {
  Pb port_int;
  port_int.str(1, "80-8080")
      .str(2, "TCP")
      .varint(3, 80)
      .msg(4, Pb().varint(1, 0).varint(2, 8080).str(3, ""))
      .varint(5, 0);
  Pb port_str;
  port_str.str(1, "web").str(2, "TCP").varint(3, 443).msg(4, Pb().varint(1, 1).varint(2, 0).str(3, "https"));
  Pb port_none;
  port_none.varint(3, 53);
  Json svc = decode("v1", "Service",
                    Pb().msg(1, meta("svc1"))
                        .msg(2, Pb().msg(1, port_int)
                                    .msg(1, port_str)
                                    .msg(1, port_none)
                                    .entry(2, "app", "svc1")
                                    .str(3, "")
                                    .str(4, "ClusterIP")
                                    .str(7, "")
                                    .varint(13, 0))
                        .msg(3, Pb().msg(1, Pb())));
  EXPECT_EQ(svc["spec"], J(R"({"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080},
      {"name":"web","protocol":"TCP","port":443,"targetPort":"https"},{"port":53,"targetPort":0}],
      "selector":{"app":"svc1"},"type":"ClusterIP"})"))
      << svc.dump();
  EXPECT_EQ(svc["status"], J(R"({"loadBalancer":{}})"));

  // Pointers to IntOrString (maxSurge) are written only when present.
  Json d = decode(
      "apps/v1", "Deployment",
      Pb().msg(2, Pb().msg(4, Pb().str(1, "RollingUpdate").msg(2, Pb().msg(2, Pb().varint(1, 1).str(3, "25%"))))));
  EXPECT_EQ(d["spec"]["strategy"], J(R"({"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}})"));

  auto bad = decode_protobuf_body(body("v1", "Service", Pb().msg(2, Pb().msg(1, Pb().msg(4, Pb().varint(1, 2))))));
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
  EXPECT_NE(bad.status().message().find("IntOrString type 2"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("(in spec.ports[0].targetPort)"), std::string::npos) << bad.status().message();
}

TEST(ProtobufBody, ConfigMapAndSecretMaps) {
  Json cm = decode("v1", "ConfigMap",
                   Pb().msg(1, meta("x"))
                       .entry(2, "a", "b")
                       .entry(2, "cfg.txt", "line1\nline2\n")
                       .msg(2, Pb().str(1, "nokey-value-missing"))  // an entry without a value: ""
                       .entry(3, "bin", std::string("\x00\xff\x10", 3)));
  EXPECT_EQ(cm, J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","creationTimestamp":null},
    "data":{"a":"b","cfg.txt":"line1\nline2\n","nokey-value-missing":""},"binaryData":{"bin":"AP8Q"}})"))
      << cm.dump();

  Json s = decode("v1", "Secret",
                  Pb().msg(1, meta("s1"))
                      .entry(2, "pw", "secret")
                      .entry(2, "tls.key", std::string("\x01\x02\x03\x04", 4))
                      .entry(2, "empty", "")
                      .str(3, "Opaque"));
  EXPECT_EQ(s, J(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1","creationTimestamp":null},
    "data":{"pw":"c2VjcmV0","tls.key":"AQIDBA==","empty":""},"type":"Opaque"})"))
      << s.dump();
  // A repeated key: the last one wins, as in a Go map.
  Json twice = decode("v1", "ConfigMap", Pb().entry(2, "k", "1").entry(2, "k", "2"));
  EXPECT_EQ(twice["data"], J(R"({"k":"2"})"));
}

TEST(ProtobufBody, TimesMicroTimesAndTheZeroTime) {
  Pb m;
  m.str(1, "e")
      .msg(8, Pb().varint(1, 1'700'000'000).varint(2, 999'999'999))  // Time keeps whole seconds
      .msg(9, Pb());                                                 // *Time present but zero → null
  Json ev = decode("v1", "Event",
                   Pb().msg(1, m)
                       .msg(6, Pb().varint(1, 0))  // 1970 is not the zero time
                       .msg(7, Pb().varint(1, static_cast<std::uint64_t>(-62'135'596'800)))  // Go's zero time
                       .msg(10, Pb().varint(1, 1'700'000'000).varint(2, 123'456'789)));      // MicroTime
  EXPECT_EQ(ev["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(ev["metadata"].contains("deletionTimestamp"));
  EXPECT_TRUE(ev["metadata"]["deletionTimestamp"].is_null());
  EXPECT_EQ(ev["firstTimestamp"], "1970-01-01T00:00:00Z");
  EXPECT_TRUE(ev["lastTimestamp"].is_null());
  EXPECT_EQ(ev["eventTime"], "2023-11-14T22:13:20.123456Z");
  // Fields without omitempty on Event.
  EXPECT_EQ(ev["involvedObject"], J("{}"));
  EXPECT_EQ(ev["reportingComponent"], "");
  EXPECT_EQ(ev["reportingInstance"], "");

  EXPECT_EQ(*go_time_json(-1, 0, false), "1969-12-31T23:59:59Z");
  EXPECT_EQ(*go_time_json(951'782'400, 0, false), "2000-02-29T00:00:00Z");
  EXPECT_EQ(*go_time_json(253'402'300'799, 0, false), "9999-12-31T23:59:59Z");
  EXPECT_EQ(*go_time_json(253'402'300'800, 0, false), "10000-01-01T00:00:00Z");
  EXPECT_EQ(*go_time_json(-62'135'596'801, 0, false), "0000-12-31T23:59:59Z");
  EXPECT_EQ(*go_time_json(0, -1'500, true), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(*go_time_json(5, 1'999, true), "1970-01-01T00:00:05.000001Z");
  EXPECT_TRUE(go_time_json(-62'135'596'800, 999, false)->is_null());
  EXPECT_EQ(go_time_json(INT64_MAX, 0, false).status().code(), Code::kBadRequest);
  // Lease: MicroTime pointers.
  Json lease = decode("coordination.k8s.io/v1", "Lease",
                      Pb().msg(2, Pb().str(1, "me").varint(2, 15).msg(4, Pb().varint(1, 86400).varint(2, 5000))));
  EXPECT_EQ(lease["spec"],
            J(R"({"holderIdentity":"me","leaseDurationSeconds":15,"renewTime":"1970-01-02T00:00:00.000005Z"})"));
}

TEST(ProtobufBody, QuantitiesAreCanonical) {
  Pb resources;
  // Canonical text keeps the family: 134217728 stays decimal; 0.25 becomes 250m.
  resources.entry(1, "cpu", Pb().str(1, "500m"))
      .entry(1, "memory", Pb().str(1, "134217728"))
      .entry(2, "cpu", Pb().str(1, "0.25"))
      .entry(2, "memory", Pb());  // a Quantity message without its string: zero
  Pb c;
  c.str(1, "app").msg(8, resources);
  Pb volume;
  volume.str(1, "scratch").msg(2, Pb().msg(2, Pb().str(1, "Memory").msg(2, Pb().str(1, "1Gi"))));
  Json pod = decode("v1", "Pod", Pb().msg(2, Pb().msg(1, volume).msg(2, c)));
  EXPECT_EQ(pod["spec"]["containers"][0]["resources"],
            J(R"({"limits":{"cpu":"500m","memory":"134217728"},"requests":{"cpu":"250m","memory":"0"}})"))
      << pod.dump();
  EXPECT_EQ(pod["spec"]["volumes"], J(R"([{"name":"scratch","emptyDir":{"medium":"Memory","sizeLimit":"1Gi"}}])"));

  Pb bad;
  bad.str(1, "app").msg(8, Pb().entry(1, "cpu", Pb().str(1, "lots")));
  auto r = decode_protobuf_body(body("v1", "Pod", Pb().msg(2, Pb().msg(2, bad))));
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_NE(r.status().message().find("quantity \"lots\""), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("(in spec.containers[0].resources.limits.cpu)"), std::string::npos)
      << r.status().message();
}

TEST(ProtobufBody, InlinedTypesMergeIntoTheirParent) {
  Pb volume;  // Volume {1: name, 2: VolumeSource {19: configMap {1: LocalObjectReference, 3: defaultMode}}}
  volume.str(1, "cfg").msg(2, Pb().msg(19, Pb().msg(1, Pb().str(1, "app-config")).varint(3, 420)));
  Pb probe;  // Probe {1: ProbeHandler {2: httpGet}, 3: timeoutSeconds}
  probe.msg(1, Pb().msg(2, Pb().str(1, "/healthz").msg(2, Pb().varint(2, 8080)).str(4, "HTTP"))).varint(3, 1);
  Pb ephemeral;  // EphemeralContainer {1: EphemeralContainerCommon, 2: targetContainerName}
  ephemeral.msg(1, Pb().str(1, "debug").str(2, "busybox")).str(2, "app");
  Pb c;
  c.str(1, "app").msg(10, probe);
  Json pod = decode("v1", "Pod", Pb().msg(2, Pb().msg(1, volume).msg(2, c).msg(34, ephemeral)));
  EXPECT_EQ(pod["spec"]["volumes"], J(R"([{"name":"cfg","configMap":{"name":"app-config","defaultMode":420}}])"));
  EXPECT_EQ(pod["spec"]["containers"][0]["livenessProbe"],
            J(R"({"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"timeoutSeconds":1})"));
  EXPECT_EQ(pod["spec"]["ephemeralContainers"],
            J(R"([{"name":"debug","image":"busybox","resources":{},"targetContainerName":"app"}])"));
}

TEST(ProtobufBody, RepeatedScalarsPackedOrNot) {
  Pb packed;
  packed.raw_varint(1).raw_varint(static_cast<std::uint64_t>(-2)).raw_varint(3000000000ull);
  Pb sc;
  sc.varint(4, 7).str(4, packed.bytes());  // supplementalGroups: []int64, one unpacked then a packed run
  Pb c;
  c.str(1, "app").str(3, "sh").str(3, "-c").str(3, "").str(4, "echo hi");
  Json pod = decode("v1", "Pod", Pb().msg(2, Pb().msg(2, c).msg(14, sc)));
  EXPECT_EQ(pod["spec"]["securityContext"]["supplementalGroups"], J("[7,1,-2,3000000000]"));
  EXPECT_EQ(pod["spec"]["containers"][0]["command"], J(R"(["sh","-c",""])"));
  EXPECT_EQ(pod["spec"]["containers"][0]["args"], J(R"(["echo hi"])"));
  // An empty packed run leaves the slice nil: omitted (omitempty) or null (values has no omitempty).
  Json empty = decode("v1", "Pod", Pb().msg(2, Pb().msg(14, Pb().str(4, ""))));
  EXPECT_EQ(empty["spec"]["securityContext"], J("{}"));
  Json job =
      decode("batch/v1", "Job",
             Pb().msg(2, Pb().msg(11, Pb().msg(1, Pb().str(1, "FailJob").msg(2, Pb().str(2, "In").str(3, ""))))));
  EXPECT_EQ(job["spec"]["podFailurePolicy"],
            J(R"({"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":null}}]})"))
      << job.dump();
}

TEST(ProtobufBody, ScalarsDecodeAsGoTypes) {
  // int32 from a sign-extended 10-byte varint, int64 and bools from any non-zero varint.
  Json d = decode("apps/v1", "Deployment",
                  Pb().msg(1, Pb().varint(7, 1ull << 40).varint(10, 30))
                      .msg(2, Pb().varint(1, static_cast<std::uint64_t>(-1)).varint(7, 2).varint(6, 0x100000005ull)));
  EXPECT_EQ(d["metadata"]["generation"], 1ll << 40);
  EXPECT_EQ(d["metadata"]["deletionGracePeriodSeconds"], 30);
  EXPECT_EQ(d["spec"]["replicas"], -1);
  EXPECT_EQ(d["spec"]["paused"], true);
  EXPECT_EQ(d["spec"]["revisionHistoryLimit"], 5);  // an int32 keeps the low 32 bits, as Go's decoder does
  // Invalid UTF-8 becomes U+FFFD, byte by byte, as Go's JSON encoder writes it.
  Json cm = decode("v1", "ConfigMap", Pb().msg(1, Pb().str(1, std::string("a\xff\xc3(b", 5))));
  EXPECT_EQ(cm["metadata"]["name"], "a\xEF\xBF\xBD\xEF\xBF\xBD(b");
  // A later occurrence of a singular field wins; a later message occurrence merges.
  Json two = decode("apps/v1", "Deployment",
                    Pb().msg(2, Pb().varint(1, 2).varint(5, 9).msg(4, Pb().str(1, "Recreate")))
                        .msg(2, Pb().varint(1, 3).varint(5, 0)));
  EXPECT_EQ(two["spec"]["replicas"], 3);
  EXPECT_FALSE(two["spec"].contains("minReadySeconds"));
  EXPECT_EQ(two["spec"]["strategy"], J(R"({"type":"Recreate"})"));
}

TEST(ProtobufBody, RawExtensionsAndManagedFields) {
  Json rev = decode("apps/v1", "ControllerRevision",
                    Pb().msg(1, meta("r1")).msg(2, Pb().str(1, R"({"spec":{"template":{}}})")).varint(3, 2));
  EXPECT_EQ(rev["data"], J(R"({"spec":{"template":{}}})"));
  EXPECT_EQ(rev["revision"], 2);
  Json empty = decode("apps/v1", "ControllerRevision", Pb());
  EXPECT_TRUE(empty.contains("data") && empty["data"].is_null());  // RawExtension is a struct: null
  EXPECT_EQ(empty["revision"], 0);                                 // no omitempty
  auto bad = decode_protobuf_body(body("apps/v1", "ControllerRevision", Pb().msg(2, Pb().str(1, "{nope"))));
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
  EXPECT_NE(bad.status().message().find("(in data)"), std::string::npos) << bad.status().message();

  Pb entry;
  entry.str(1, "kubectl-create")
      .str(2, "Update")
      .str(3, "v1")
      .msg(4, Pb().varint(1, 60))
      .str(6, "FieldsV1")
      .msg(7, Pb().str(1, R"({"f:data":{".":{},"f:a":{}}})"));
  Json cm = decode("v1", "ConfigMap", Pb().msg(1, Pb().str(1, "x").msg(17, entry)));
  EXPECT_EQ(cm["metadata"]["managedFields"], J(R"([{"manager":"kubectl-create","operation":"Update","apiVersion":"v1",
    "time":"1970-01-01T00:01:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:a":{}}}}])"));
}

TEST(ProtobufBody, UnknownFieldsAreSkipped) {
  Pb ns;
  ns.varint(99, 1)
      .msg(1, Pb().str(1, "x").fixed32(50, 1).tag(60, 3).varint(1, 2).tag(60, 4))
      .fixed64(77, 5)
      .str(100, "?");
  Json j = decode("v1", "Namespace", ns);
  EXPECT_EQ(j["metadata"], J(R"({"name":"x","creationTimestamp":null})"));
}

TEST(ProtobufBody, MalformedObjectsNameOffsetAndPath) {
  // replicas sent as a string: the wrong wire type for a known field.
  std::string b = body("apps/v1", "Deployment", Pb().msg(2, Pb().str(1, "3")));
  auto r = decode_protobuf_body(b);
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_EQ(
      r.status().message(),
      "the protobuf body is malformed: wrong wire type length-delimited for field replicas (number 1, want varint) "
      "at byte " +
          std::to_string(b.size() - 4 - 3) + " (in spec.replicas)");  // 4: the envelope's last fields

  // A container whose message is cut short.
  Pb c;
  c.str(1, "app").tag(2, 2).raw_varint(10).raw("ab");
  b = body("apps/v1", "Deployment", Pb().msg(2, Pb().msg(3, Pb().msg(2, Pb().msg(2, c)))));
  r = decode_protobuf_body(b);
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_EQ(r.status().message(),
            "the protobuf body is malformed: length 10 runs past the end of its message (2 bytes left) at byte " +
                std::to_string(b.size() - 4 - 3) + " (in spec.template.spec.containers[0])");
}

TEST(ProtobufBody, NeverThrowsOnTruncatedOrCorruptedBodies) {
  Pb spec;
  spec.varint(1, 2).msg(2, Pb().entry(1, "app", "web")).msg(3, pod_template("nginx", "nginx:1.25"));
  const std::string good = body("apps/v1", "Deployment", Pb().msg(1, meta("web")).msg(2, spec));
  ASSERT_TRUE(decode_protobuf_body(good).is_ok());
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = decode_protobuf_body(good.substr(0, n));
    if (!r) {
      EXPECT_EQ(r.status().code(), Code::kBadRequest) << n;
    }
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::string b = good;
    for (int k = 0; k < 1 + round % 4; ++k) b[4 + rng() % (b.size() - 4)] = static_cast<char>(rng() & 0xFFu);
    auto r = decode_protobuf_body(b);
    if (!r) {
      EXPECT_TRUE(r.status().code() == Code::kBadRequest || r.status().code() == Code::kUnsupportedMediaType)
          << r.status().message();
    } else {
      (void)r->dump(-1, ' ', false, Json::error_handler_t::strict);  // valid UTF-8 everywhere
    }
  }
}

TEST(ProtobufBody, DecodedObjectsPassTheStrictJsonDecoder) {
  Pb spec;
  spec.varint(1, 1).msg(2, Pb().entry(1, "app", "web")).msg(3, pod_template("nginx", "nginx:1.25")).msg(4, Pb());
  Json d = decode("apps/v1", "Deployment", Pb().msg(1, meta("web")).msg(2, spec).msg(3, Pb()));
  const TypeSchema* schema = schema_for_object(d);
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(check_decode(*schema, d, true).is_ok()) << check_decode(*schema, d, true).message();
}

// ---------------------------------------------------------------------------------------------
// Duration

TEST(GoDuration, FormatsAsTimeDurationString) {
  EXPECT_EQ(go_duration_string(0), "0s");
  EXPECT_EQ(go_duration_string(1), "1ns");
  EXPECT_EQ(go_duration_string(1'100), "1.1\xC2\xB5s");
  EXPECT_EQ(go_duration_string(2'200'000), "2.2ms");
  EXPECT_EQ(go_duration_string(1'500'000'000), "1.5s");
  EXPECT_EQ(go_duration_string(90'000'000'000), "1m30s");
  EXPECT_EQ(go_duration_string(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(go_duration_string(-123'000'000'000), "-2m3s");
  EXPECT_EQ(go_duration_string(INT64_MIN), "-2562047h47m16.854775808s");
  EXPECT_EQ(go_duration_string(INT64_MAX), "2562047h47m16.854775807s");
}

TEST(GoDuration, DecodesFromItsMessage) {
  // No built-in kind has a Duration; a hand-made schema stands in for one.
  ValueType dur;
  dur.kind = ValueKind::kString;
  dur.duration = true;
  TypeSchema t;
  t.name = "Timeouts";
  FieldSchema f;
  f.name = "timeout";
  f.type = &dur;
  f.proto_number = 1;
  t.fields.push_back(f);
  f.name = "grace";
  f.proto_number = 2;
  t.fields.push_back(f);
  auto r = decode_protobuf_message(t, Pb().msg(1, Pb().varint(1, 300'000'000'000)).bytes());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*r, J(R"({"timeout":"5m0s","grace":"0s"})"));  // a struct: always written
}

}  // namespace
}  // namespace skiff::kernel::api
