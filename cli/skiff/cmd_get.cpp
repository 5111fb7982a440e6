// skiff get: the server's Tables printed like kubectl (or the objects as JSON / YAML / names), and
// with -w the changes that follow.
#include <iostream>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "cli/skiff/json_util.hpp"
#include "cli/skiff/output.hpp"

namespace skiff::cli {

namespace {

struct GetOptions {
  Format format = Format::kDefault;
  std::string labels, fields;
  bool all_namespaces = false, show_labels = false, no_headers = false;
};

// A list's items lack kind and apiVersion on the wire; kubectl fills them in from the list.
std::vector<Json> items_of(const Json& list) {
  std::vector<Json> out;
  std::string kind = str(list, {"kind"});
  if (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "List") == 0) kind.resize(kind.size() - 4);
  for (const auto& item : at(list, {"items"})) {
    Json i = item;
    if (!i.contains("kind")) i["kind"] = kind;
    if (!i.contains("apiVersion")) i["apiVersion"] = str(list, {"apiVersion"});
    out.push_back(std::move(i));
  }
  return out;
}

std::string join_selectors(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

// Prints Tables and, for a watch, the rows that follow under the same header and column widths.
class TableOutput {
 public:
  explicit TableOutput(bool no_headers) : no_headers_(no_headers) {}
  // A new table (the next type): a blank line after the previous one, then its own header.
  void print(const TableView& view) {
    if (view.rows.empty()) return;
    if (printed_) std::cout << "\n";
    layout_ = ColumnLayout();
    header_printed_ = false;
    add(view);
  }
  // Rows of a later Table (a watch event) under the current header.
  void add(const TableView& view) {
    if (!header_printed_ && !no_headers_) layout_.fit(view.header);
    for (const auto& r : view.rows) layout_.fit(r);
    if (!header_printed_ && !no_headers_) std::cout << layout_.format(view.header) << "\n";
    header_printed_ = true;
    for (const auto& r : view.rows) std::cout << layout_.format(r) << "\n";
    std::cout.flush();
    printed_ = printed_ || !view.rows.empty();
  }
  bool printed() const { return printed_; }

 private:
  bool no_headers_;
  ColumnLayout layout_;
  bool header_printed_ = false;
  bool printed_ = false;
};

}  // namespace

int cmd_get(Context& ctx, const Args& args) {
  CommandLine cl(ctx, "get", "get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [options]",
                 "Show objects. TYPE is any name discovery knows (pods, pod, po, deploy, deployments.apps, all).\n"
                 "Without -o, the server's tables are printed (-o wide adds their extra columns).");
  GetOptions o;
  std::string output, timeout = "0", raw;
  bool watch = false;
  cl.add()                                                                                                        //
      ("output,o", po::value(&output)->value_name("FORMAT"), "wide, json, yaml or name.")                         //
      ("selector,l", po::value(&o.labels)->value_name("SELECTOR"), "Label selector (app=web,tier!=db).")          //
      ("field-selector", po::value(&o.fields)->value_name("SELECTOR"), "Field selector (status.phase=Running).")  //
      ("all-namespaces,A", po::bool_switch(&o.all_namespaces), "List across all namespaces.")                     //
      ("watch,w", po::bool_switch(&watch), "After listing, print changes as they happen.")                        //
      ("timeout", po::value(&timeout)->value_name("DURATION")->default_value("0"),
       "With -w: stop after this long (0: never).")                                 //
      ("show-labels", po::bool_switch(&o.show_labels), "Add a LABELS column.")      //
      ("no-headers", po::bool_switch(&o.no_headers), "Leave out the header line.")  //
      ("raw", po::value(&raw)->value_name("PATH"), "GET this URL path and print the answer as it is.");
  if (!cl.parse(args)) return kExitOk;
  o.format = parse_format("get", output, {"wide", "json", "yaml", "name"});
  auto watch_limit = parse_duration("get", "--timeout", timeout);

  if (!raw.empty()) {
    if (!cl.positionals().empty()) cl.usage_error("--raw takes no other arguments");
    HttpReply reply = ctx.api().checked("GET", raw, {}, {}, "application/json, */*");
    std::cout << reply.body;
    if (!reply.body.empty() && reply.body.back() != '\n') std::cout << "\n";
    return kExitOk;
  }

  ResourceArgs targets = parse_resource_args(cl, ctx.discovery(), cl.positionals());
  bool named = !targets.items.front().names.empty();
  if (o.all_namespaces && named) cl.usage_error("a resource cannot be retrieved by name across all namespaces");
  if (named && !o.labels.empty()) cl.usage_error("a name cannot be given together with a selector (-l)");
  if (watch && (targets.items.size() != 1 || targets.items.front().names.size() > 1))
    cl.usage_error("watch is only supported on one type, and at most one name");

  bool failed = false;
  auto report = [&](const ApiError& e) {
    std::cerr << e.display() << "\n";
    failed = true;
  };
  bool table_mode = o.format == Format::kDefault || o.format == Format::kWide;
  TableOutput tables(o.no_headers);
  std::vector<Json> objects;
  std::string watch_from;  // resourceVersion the watch starts after
  const std::string accept = table_mode ? kAcceptTable : "application/json";

  for (const auto& item : targets.items) {
    const ResourceInfo& type = *item.type;
    std::string ns = o.all_namespaces ? std::string() : ctx.ns();
    TableOptions topts{o.format == Format::kWide, o.all_namespaces && type.namespaced, o.show_labels,
                       targets.several_types ? type.type_name() + "/" : std::string()};
    std::vector<Json> answers;
    if (item.names.empty()) {
      answers.push_back(ctx.api().get(
          resource_path(type, ns) + query({{"labelSelector", o.labels}, {"fieldSelector", o.fields}}), accept));
    } else {
      for (const auto& name : item.names) {
        try {
          answers.push_back(ctx.api().get(resource_path(type, ns, name), accept));
        } catch (const ApiError& e) {
          report(e);
        }
      }
    }
    if (!answers.empty()) watch_from = str(answers.back(), {"metadata", "resourceVersion"});
    if (table_mode) {
      TableView view;
      for (const auto& a : answers) {
        TableView part = render_table(a, topts);
        view.header = part.header;
        view.rows.insert(view.rows.end(), part.rows.begin(), part.rows.end());
      }
      tables.print(view);
      if (watch && watch_from.empty() && !answers.empty()) {  // a single object's Table may carry no list RV
        const Json& rows = at(answers.back(), {"rows"});
        if (rows.is_array() && !rows.empty()) watch_from = str(rows[0], {"object", "metadata", "resourceVersion"});
      }
    } else {
      for (auto& a : answers) {
        if (a.contains("items")) {
          for (auto& i : items_of(a)) objects.push_back(std::move(i));
        } else {
          objects.push_back(std::move(a));
        }
      }
    }
  }

  if (table_mode && !tables.printed() && !failed && !watch) {
    bool cluster_wide = o.all_namespaces || !targets.items.front().type->namespaced;
    std::cerr << (cluster_wide ? "No resources found\n" : "No resources found in " + ctx.ns() + " namespace.\n");
  }
  auto print_objects = [&](std::vector<Json> list, bool single) {
    if (o.format == Format::kName) {
      for (const auto& obj : list) std::cout << type_name_of(obj) << "/" << str(obj, {"metadata", "name"}) << "\n";
    } else if (o.format == Format::kJson) {
      std::cout << json_text(single && list.size() == 1 ? list.front() : list_of(std::move(list)));
    } else if (o.format == Format::kYaml) {
      std::cout << yaml_text(single && list.size() == 1 ? list.front() : list_of(std::move(list)));
    }
    std::cout.flush();
  };
  if (!table_mode)
    print_objects(objects, named && targets.items.size() == 1 && targets.items.front().names.size() == 1);
  if (!watch || failed) return failed ? kExitFailure : kExitOk;

  // The watch: changes after what was listed, until the server ends it or --timeout passes.
  const auto& item = targets.items.front();
  const ResourceInfo& type = *item.type;
  std::string ns = o.all_namespaces ? std::string() : ctx.ns();
  std::string fields = join_selectors(o.fields, item.names.empty() ? "" : "metadata.name=" + item.names.front());
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(watch_limit + std::chrono::milliseconds(999));
  std::string target =
      resource_path(type, ns) + query({{"watch", "true"},
                                       {"resourceVersion", watch_from},
                                       {"labelSelector", o.labels},
                                       {"fieldSelector", fields},
                                       {"timeoutSeconds", seconds.count() > 0 ? std::to_string(seconds.count()) : ""}});
  TableOptions topts{o.format == Format::kWide, o.all_namespaces && type.namespaced, o.show_labels, ""};
  bool error_event = false;
  ctx.api().watch(
      target, accept,
      [&](const Json& event) {
        std::string kind = str(event, {"type"});
        if (kind == "BOOKMARK") return true;
        if (kind == "ERROR") {
          std::cerr << "error: the watch ended: " << str(event, {"object", "message"}) << "\n";
          error_event = true;
          return false;
        }
        if (table_mode) {
          tables.add(render_table(at(event, {"object"}), topts));
        } else if (o.format == Format::kYaml) {
          std::cout << "---\n";
          print_objects({at(event, {"object"})}, true);
        } else {
          print_objects({at(event, {"object"})}, true);
        }
        return true;
      },
      deadline_after(watch_limit));
  return error_event ? kExitFailure : kExitOk;
}

}  // namespace skiff::cli
