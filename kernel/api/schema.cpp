#include "kernel/api/schema.hpp"

#include <cstdint>
#include <deque>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "kernel/util/meta.hpp"

namespace skiff::kernel::api {
namespace {

// The built-in types, transcribed from the Kubernetes 1.32 Go types (k8s.io/api, apimachinery meta/v1).
//
//   package <openapi prefix>            types below belong to it (Go package alias = its last segment)
//   Name [kind=<group/>v1/Kind] [atomic]: field field …   (an indented line continues the previous one)
//
// A field is `json#N:type|modifier|…`, or `...Type#N` to inline another type's fields (Go's ",inline").
// N is the field's number in Kubernetes' protobuf message (k8s.io/api/<group>/v1/generated.proto,
// apimachinery meta/v1/generated.proto); `#-` marks a JSON-only field (TypeMeta's apiVersion and kind,
// which protobuf carries in the envelope). An inlined type is one message field of number N whose
// fields JSON shows in the parent. A `!` after N: the json tag has no omitempty, so Go's encoder
// always writes the field (zero value, or null). A `*` before the type: a Go pointer, so a value that
// is present is written even when it is zero (replicas: 0); without it a zero scalar is omitted.
// Types: s string, i32, i64, f64, b bool, ios int-or-string, q quantity, t time, mt micro time,
// dur duration (metav1.Duration, a string in JSON), bytes (base64), any (free-form: RawExtension,
// FieldsV1), rl (v1.ResourceList, a map of quantities), a type name, []T, {}T.
// `s=Name` names the Go type for decode errors (v1.Name; a dotted name is taken as is).
// Modifiers: merge[:key] / merge,retainKeys:key / retainKeys (patchStrategy / patchMergeKey),
// map:k1,k2 / set / atomic (listType and listMapKeys; atomic on a map is mapType=atomic),
// default:V (the string default that server-side apply assumes for an omitted list-map key).
// A list without a listType modifier is atomic, as server-side apply treats it.
constexpr std::string_view kTable = R"TABLE(
package io.k8s.apimachinery.pkg.apis.meta.v1
ManagedFieldsEntry: manager#1:s operation#2:s=ManagedFieldsOperationType apiVersion#3:s time#4:*t fieldsType#6:s
    fieldsV1#7:*any subresource#8:s
ObjectMeta: name#1:s generateName#2:s namespace#3:s selfLink#4:s uid#5:s=types.UID resourceVersion#6:s
    generation#7:i64 creationTimestamp#8:t deletionTimestamp#9:*t deletionGracePeriodSeconds#10:*i64 labels#11:{}s
    annotations#12:{}s ownerReferences#13:[]OwnerReference|merge:uid|map:uid finalizers#14:[]s|merge|set
    managedFields#17:[]ManagedFieldsEntry|atomic
OwnerReference atomic: apiVersion#5!:s kind#1!:s name#3!:s uid#4!:s=types.UID controller#6:*b
    blockOwnerDeletion#7:*b
Condition: type#1!:s status#2!:s=ConditionStatus observedGeneration#3:i64 lastTransitionTime#4!:t reason#5!:s
    message#6!:s
LabelSelector atomic: matchLabels#1:{}s matchExpressions#2:[]LabelSelectorRequirement|atomic
LabelSelectorRequirement: key#1!:s operator#2!:s=LabelSelectorOperator values#3:[]s|atomic
ListMeta: selfLink#1:s resourceVersion#2:s continue#3:s remainingItemCount#4:*i64
Status: apiVersion#-:s kind#-:s metadata#1:ListMeta status#2:s message#3:s reason#4:s=StatusReason
    details#5:*StatusDetails code#6:i32
StatusDetails: name#1:s group#2:s kind#3:s uid#6:s=types.UID causes#4:[]StatusCause|atomic retryAfterSeconds#5:i32
StatusCause: reason#1:s=CauseType message#2:s field#3:s
DeleteOptions: apiVersion#-:s kind#-:s gracePeriodSeconds#1:*i64 preconditions#2:*Preconditions
    orphanDependents#3:*b propagationPolicy#4:*s=DeletionPropagation dryRun#5:[]s|atomic
    ignoreStoreReadErrorWithClusterBreakingPotential#6:*b
Preconditions: uid#1:*s=types.UID resourceVersion#2:*s

package io.k8s.api.core.v1
Namespace kind=v1/Namespace: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:NamespaceSpec
    status#3:NamespaceStatus
Pod kind=v1/Pod: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:PodSpec status#3:PodStatus
Service kind=v1/Service: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:ServiceSpec status#3:ServiceStatus
Endpoints kind=v1/Endpoints: apiVersion#-:s kind#-:s metadata#1:ObjectMeta subsets#2:[]EndpointSubset|atomic
Node kind=v1/Node: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:NodeSpec status#3:NodeStatus
Event kind=v1/Event: apiVersion#-:s kind#-:s metadata#1!:ObjectMeta involvedObject#2!:ObjectReference reason#3:s
    message#4:s source#5:EventSource firstTimestamp#6:t lastTimestamp#7:t count#8:i32 type#9:s eventTime#10:mt
    series#11:*EventSeries action#12:s related#13:*ObjectReference reportingComponent#14!:s reportingInstance#15!:s
ConfigMap kind=v1/ConfigMap: apiVersion#-:s kind#-:s metadata#1:ObjectMeta immutable#4:*b data#2:{}s
    binaryData#3:{}bytes
Secret kind=v1/Secret: apiVersion#-:s kind#-:s metadata#1:ObjectMeta immutable#5:*b data#2:{}bytes stringData#4:{}s
    type#3:s=SecretType
ServiceAccount kind=v1/ServiceAccount: apiVersion#-:s kind#-:s metadata#1:ObjectMeta
    secrets#2:[]ObjectReference|merge:name|map:name imagePullSecrets#3:[]LocalObjectReference|atomic
    automountServiceAccountToken#4:*b
NamespaceSpec: finalizers#1:[]s=FinalizerName|atomic
NamespaceStatus: phase#1:s=NamespacePhase conditions#2:[]NamespaceCondition|merge:type|map:type
PodSpec: volumes#1:[]Volume|merge,retainKeys:name|map:name initContainers#20:[]Container|merge:name|map:name
    containers#2!:[]Container|merge:name|map:name ephemeralContainers#34:[]EphemeralContainer|merge:name|map:name
    restartPolicy#3:s=RestartPolicy terminationGracePeriodSeconds#4:*i64 activeDeadlineSeconds#5:*i64
    dnsPolicy#6:s=DNSPolicy nodeSelector#7:{}s|atomic serviceAccountName#8:s serviceAccount#9:s
    automountServiceAccountToken#21:*b nodeName#10:s hostNetwork#11:b hostPID#12:b hostIPC#13:b
    shareProcessNamespace#27:*b securityContext#14:*PodSecurityContext
    imagePullSecrets#15:[]LocalObjectReference|merge:name|map:name hostname#16:s subdomain#17:s
    affinity#18:*Affinity schedulerName#19:s tolerations#22:[]Toleration|atomic
    hostAliases#23:[]HostAlias|merge:ip|map:ip priorityClassName#24:s priority#25:*i32 dnsConfig#26:*PodDNSConfig
    readinessGates#28:[]PodReadinessGate|atomic runtimeClassName#29:*s enableServiceLinks#30:*b
    preemptionPolicy#31:*s=PreemptionPolicy overhead#32:rl
    topologySpreadConstraints#33:[]TopologySpreadConstraint|merge:topologyKey|map:topologyKey,whenUnsatisfiable
    setHostnameAsFQDN#35:*b os#36:*PodOS hostUsers#37:*b schedulingGates#38:[]PodSchedulingGate|merge:name|map:name
    resourceClaims#39:[]PodResourceClaim|merge,retainKeys:name|map:name resources#40:*ResourceRequirements
PodStatus: phase#1:s=PodPhase conditions#2:[]PodCondition|merge:type|map:type message#3:s reason#4:s
    nominatedNodeName#11:s hostIP#5:s hostIPs#16:[]HostIP|merge:ip|atomic podIP#6:s
    podIPs#12:[]PodIP|merge:ip|map:ip startTime#7:*t initContainerStatuses#10:[]ContainerStatus|atomic
    containerStatuses#8:[]ContainerStatus|atomic qosClass#9:s=PodQOSClass
    ephemeralContainerStatuses#13:[]ContainerStatus|atomic resize#14:s=PodResizeStatus
    resourceClaimStatuses#15:[]PodResourceClaimStatus|merge,retainKeys:name|map:name
ServiceSpec: ports#1:[]ServicePort|merge:port|map:port,protocol selector#2:{}s|atomic clusterIP#3:s
    clusterIPs#18:[]s|atomic type#4:s=ServiceType externalIPs#5:[]s|atomic sessionAffinity#7:s=ServiceAffinity
    loadBalancerIP#8:s loadBalancerSourceRanges#9:[]s|atomic externalName#10:s
    externalTrafficPolicy#11:s=ServiceExternalTrafficPolicy healthCheckNodePort#12:i32 publishNotReadyAddresses#13:b
    sessionAffinityConfig#14:*SessionAffinityConfig ipFamilies#19:[]s=IPFamily|atomic
    ipFamilyPolicy#17:*s=IPFamilyPolicy allocateLoadBalancerNodePorts#20:*b loadBalancerClass#21:*s
    internalTrafficPolicy#22:*s=ServiceInternalTrafficPolicy trafficDistribution#23:*s
ServiceStatus: loadBalancer#1:LoadBalancerStatus conditions#2:[]Condition|merge:type|map:type
EndpointSubset: addresses#1:[]EndpointAddress|atomic notReadyAddresses#2:[]EndpointAddress|atomic
    ports#3:[]EndpointPort|atomic
NodeSpec: podCIDR#1:s podCIDRs#7:[]s|merge|set providerID#3:s unschedulable#4:b taints#5:[]Taint|atomic
    configSource#6:*NodeConfigSource externalID#2:s
NodeStatus: capacity#1:rl allocatable#2:rl phase#3:s=NodePhase conditions#4:[]NodeCondition|merge:type|map:type
    addresses#5:[]NodeAddress|merge:type|map:type daemonEndpoints#6:NodeDaemonEndpoints nodeInfo#7:NodeSystemInfo
    images#8:[]ContainerImage|atomic volumesInUse#9:[]s=UniqueVolumeName|atomic
    volumesAttached#10:[]AttachedVolume|atomic config#11:*NodeConfigStatus
    runtimeHandlers#12:[]NodeRuntimeHandler|atomic features#13:*NodeFeatures
ObjectReference atomic: kind#1:s namespace#2:s name#3:s uid#4:s=types.UID apiVersion#5:s resourceVersion#6:s
    fieldPath#7:s
EventSource: component#1:s host#2:s
EventSeries: count#1:i32 lastObservedTime#2:mt
LocalObjectReference atomic: name#1:s
NamespaceCondition: type#1!:s=NamespaceConditionType status#2!:s=ConditionStatus lastTransitionTime#4:t reason#5:s
    message#6:s
Volume: name#1!:s ...VolumeSource#2
Container: name#1!:s image#2:s command#3:[]s|atomic args#4:[]s|atomic workingDir#5:s
    ports#6:[]ContainerPort|merge:containerPort|map:containerPort,protocol envFrom#19:[]EnvFromSource|atomic
    env#7:[]EnvVar|merge:name|map:name resources#8:ResourceRequirements
    resizePolicy#23:[]ContainerResizePolicy|atomic restartPolicy#24:*s=ContainerRestartPolicy
    volumeMounts#9:[]VolumeMount|merge:mountPath|map:mountPath
    volumeDevices#21:[]VolumeDevice|merge:devicePath|map:devicePath livenessProbe#10:*Probe readinessProbe#11:*Probe
    startupProbe#22:*Probe lifecycle#12:*Lifecycle terminationMessagePath#13:s
    terminationMessagePolicy#20:s=TerminationMessagePolicy imagePullPolicy#14:s=PullPolicy
    securityContext#15:*SecurityContext stdin#16:b stdinOnce#17:b tty#18:b
EphemeralContainer: ...EphemeralContainerCommon#1 targetContainerName#2:s
PodSecurityContext: seLinuxOptions#1:*SELinuxOptions windowsOptions#8:*WindowsSecurityContextOptions
    runAsUser#2:*i64 runAsGroup#6:*i64 runAsNonRoot#3:*b supplementalGroups#4:[]i64|atomic
    supplementalGroupsPolicy#12:*s=SupplementalGroupsPolicy fsGroup#5:*i64 sysctls#7:[]Sysctl|atomic
    fsGroupChangePolicy#9:*s=PodFSGroupChangePolicy seccompProfile#10:*SeccompProfile
    appArmorProfile#11:*AppArmorProfile seLinuxChangePolicy#13:*s=PodSELinuxChangePolicy
Affinity: nodeAffinity#1:*NodeAffinity podAffinity#2:*PodAffinity podAntiAffinity#3:*PodAntiAffinity
Toleration: key#1:s operator#2:s=TolerationOperator value#3:s effect#4:s=TaintEffect tolerationSeconds#5:*i64
HostAlias: ip#1!:s hostnames#2:[]s|atomic
PodDNSConfig: nameservers#1:[]s|atomic searches#2:[]s|atomic options#3:[]PodDNSConfigOption|atomic
PodReadinessGate: conditionType#1!:s=PodConditionType
TopologySpreadConstraint: maxSkew#1!:i32 topologyKey#2!:s whenUnsatisfiable#3!:s=UnsatisfiableConstraintAction
    labelSelector#4:*LabelSelector minDomains#5:*i32 nodeAffinityPolicy#6:*s=NodeInclusionPolicy
    nodeTaintsPolicy#7:*s=NodeInclusionPolicy matchLabelKeys#8:[]s|atomic
PodOS: name#1!:s=OSName
PodSchedulingGate: name#1!:s
PodResourceClaim: name#1!:s resourceClaimName#3:*s resourceClaimTemplateName#4:*s
ResourceRequirements: limits#1:rl requests#2:rl claims#3:[]ResourceClaim|map:name
PodCondition: type#1!:s=PodConditionType status#2!:s=ConditionStatus lastProbeTime#3:t lastTransitionTime#4:t
    reason#5:s message#6:s
HostIP: ip#1!:s
PodIP: ip#1!:s
ContainerStatus: name#1!:s state#2:ContainerState lastState#3:ContainerState ready#4!:b restartCount#5!:i32
    image#6!:s imageID#7!:s containerID#8:s started#9:*b allocatedResources#10:rl resources#11:*ResourceRequirements
    volumeMounts#12:[]VolumeMountStatus|merge:mountPath|map:mountPath user#13:*ContainerUser
    allocatedResourcesStatus#14:[]ResourceStatus|merge:name|map:name
PodResourceClaimStatus: name#1!:s resourceClaimName#2:*s
ServicePort: name#1:s protocol#2:s=Protocol|default:TCP appProtocol#6:*s port#3!:i32 targetPort#4:ios nodePort#5:i32
SessionAffinityConfig: clientIP#1:*ClientIPConfig
LoadBalancerStatus: ingress#1:[]LoadBalancerIngress|atomic
EndpointAddress atomic: ip#1!:s hostname#3:s nodeName#4:*s targetRef#2:*ObjectReference
EndpointPort atomic: name#1:s port#2!:i32 protocol#3:s=Protocol appProtocol#4:*s
Taint: key#1!:s value#2:s effect#3!:s=TaintEffect timeAdded#4:*t
NodeConfigSource: configMap#2:*ConfigMapNodeConfigSource
NodeCondition: type#1!:s=NodeConditionType status#2!:s=ConditionStatus lastHeartbeatTime#3:t lastTransitionTime#4:t
    reason#5:s message#6:s
NodeAddress: type#1!:s=NodeAddressType address#2!:s
NodeDaemonEndpoints: kubeletEndpoint#1:DaemonEndpoint
NodeSystemInfo: machineID#1!:s systemUUID#2!:s bootID#3!:s kernelVersion#4!:s osImage#5!:s
    containerRuntimeVersion#6!:s kubeletVersion#7!:s kubeProxyVersion#8!:s operatingSystem#9!:s architecture#10!:s
ContainerImage: names#1!:[]s|atomic sizeBytes#2:i64
AttachedVolume: name#1!:s=UniqueVolumeName devicePath#2!:s
NodeConfigStatus: assigned#1:*NodeConfigSource active#2:*NodeConfigSource lastKnownGood#3:*NodeConfigSource
    error#4:s
NodeRuntimeHandler: name#1!:s features#2:*NodeRuntimeHandlerFeatures
NodeFeatures: supplementalGroupsPolicy#1:*b
PodTemplateSpec: metadata#1:ObjectMeta spec#2:PodSpec
PersistentVolumeClaim: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:PersistentVolumeClaimSpec
    status#3:PersistentVolumeClaimStatus
VolumeSource: hostPath#1:*HostPathVolumeSource emptyDir#2:*EmptyDirVolumeSource
    gcePersistentDisk#3:*GCEPersistentDiskVolumeSource awsElasticBlockStore#4:*AWSElasticBlockStoreVolumeSource
    gitRepo#5:*GitRepoVolumeSource secret#6:*SecretVolumeSource nfs#7:*NFSVolumeSource iscsi#8:*ISCSIVolumeSource
    glusterfs#9:*GlusterfsVolumeSource persistentVolumeClaim#10:*PersistentVolumeClaimVolumeSource
    rbd#11:*RBDVolumeSource flexVolume#12:*FlexVolumeSource cinder#13:*CinderVolumeSource
    cephfs#14:*CephFSVolumeSource flocker#15:*FlockerVolumeSource downwardAPI#16:*DownwardAPIVolumeSource
    fc#17:*FCVolumeSource azureFile#18:*AzureFileVolumeSource configMap#19:*ConfigMapVolumeSource
    vsphereVolume#20:*VsphereVirtualDiskVolumeSource quobyte#21:*QuobyteVolumeSource
    azureDisk#22:*AzureDiskVolumeSource photonPersistentDisk#23:*PhotonPersistentDiskVolumeSource
    projected#26:*ProjectedVolumeSource portworxVolume#24:*PortworxVolumeSource scaleIO#25:*ScaleIOVolumeSource
    storageos#27:*StorageOSVolumeSource csi#28:*CSIVolumeSource ephemeral#29:*EphemeralVolumeSource
    image#30:*ImageVolumeSource
ContainerPort: name#1:s hostPort#2:i32 containerPort#3!:i32 protocol#4:s=Protocol|default:TCP hostIP#5:s
EnvFromSource: prefix#1:s configMapRef#2:*ConfigMapEnvSource secretRef#3:*SecretEnvSource
EnvVar: name#1!:s value#2:s valueFrom#3:*EnvVarSource
ContainerResizePolicy: resourceName#1!:s=ResourceName restartPolicy#2!:s=ResourceResizeRestartPolicy
VolumeMount: name#1!:s readOnly#2:b recursiveReadOnly#7:*s=RecursiveReadOnlyMode mountPath#3!:s subPath#4:s
    mountPropagation#5:*s=MountPropagationMode subPathExpr#6:s
VolumeDevice: name#1!:s devicePath#2!:s
Probe: ...ProbeHandler#1 initialDelaySeconds#2:i32 timeoutSeconds#3:i32 periodSeconds#4:i32 successThreshold#5:i32
    failureThreshold#6:i32 terminationGracePeriodSeconds#7:*i64
Lifecycle: postStart#1:*LifecycleHandler preStop#2:*LifecycleHandler
SecurityContext: capabilities#1:*Capabilities privileged#2:*b seLinuxOptions#3:*SELinuxOptions
    windowsOptions#10:*WindowsSecurityContextOptions runAsUser#4:*i64 runAsGroup#8:*i64 runAsNonRoot#5:*b
    readOnlyRootFilesystem#6:*b allowPrivilegeEscalation#7:*b procMount#9:*s=ProcMountType
    seccompProfile#11:*SeccompProfile appArmorProfile#12:*AppArmorProfile
EphemeralContainerCommon: name#1!:s image#2:s command#3:[]s|atomic args#4:[]s|atomic workingDir#5:s
    ports#6:[]ContainerPort|merge:containerPort|map:containerPort,protocol envFrom#19:[]EnvFromSource|atomic
    env#7:[]EnvVar|merge:name|map:name resources#8:ResourceRequirements
    resizePolicy#23:[]ContainerResizePolicy|atomic restartPolicy#24:*s=ContainerRestartPolicy
    volumeMounts#9:[]VolumeMount|merge:mountPath|map:mountPath
    volumeDevices#21:[]VolumeDevice|merge:devicePath|map:devicePath livenessProbe#10:*Probe readinessProbe#11:*Probe
    startupProbe#22:*Probe lifecycle#12:*Lifecycle terminationMessagePath#13:s
    terminationMessagePolicy#20:s=TerminationMessagePolicy imagePullPolicy#14:s=PullPolicy
    securityContext#15:*SecurityContext stdin#16:b stdinOnce#17:b tty#18:b
SELinuxOptions: user#1:s role#2:s type#3:s level#4:s
WindowsSecurityContextOptions: gmsaCredentialSpecName#1:*s gmsaCredentialSpec#2:*s runAsUserName#3:*s
    hostProcess#4:*b
Sysctl: name#1!:s value#2!:s
SeccompProfile: type#1!:s=SeccompProfileType localhostProfile#2:*s
AppArmorProfile: type#1!:s=AppArmorProfileType localhostProfile#2:*s
NodeAffinity: requiredDuringSchedulingIgnoredDuringExecution#1:*NodeSelector
    preferredDuringSchedulingIgnoredDuringExecution#2:[]PreferredSchedulingTerm|atomic
PodAffinity: requiredDuringSchedulingIgnoredDuringExecution#1:[]PodAffinityTerm|atomic
    preferredDuringSchedulingIgnoredDuringExecution#2:[]WeightedPodAffinityTerm|atomic
PodAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution#1:[]PodAffinityTerm|atomic
    preferredDuringSchedulingIgnoredDuringExecution#2:[]WeightedPodAffinityTerm|atomic
PodDNSConfigOption: name#1:s value#2:*s
ResourceClaim: name#1!:s request#2:s
ContainerState: waiting#1:*ContainerStateWaiting running#2:*ContainerStateRunning
    terminated#3:*ContainerStateTerminated
VolumeMountStatus: name#1!:s mountPath#2!:s readOnly#3:b recursiveReadOnly#4:*s=RecursiveReadOnlyMode
ContainerUser: linux#1:*LinuxContainerUser
ResourceStatus: name#1!:s=ResourceName resources#2:[]ResourceHealth|map:resourceID
ClientIPConfig: timeoutSeconds#1:*i32
LoadBalancerIngress: ip#1:s hostname#2:s ipMode#3:*s=LoadBalancerIPMode ports#4:[]PortStatus|atomic
ConfigMapNodeConfigSource: namespace#1!:s name#2!:s uid#3:s=types.UID resourceVersion#4:s kubeletConfigKey#5!:s
DaemonEndpoint: Port#1!:i32
NodeRuntimeHandlerFeatures: recursiveReadOnlyMounts#1:*b userNamespaces#2:*b
PersistentVolumeClaimSpec: accessModes#1:[]s=PersistentVolumeAccessMode|atomic selector#4:*LabelSelector
    resources#2:VolumeResourceRequirements volumeName#3:s storageClassName#5:*s volumeMode#6:*s=PersistentVolumeMode
    dataSource#7:*TypedLocalObjectReference dataSourceRef#8:*TypedObjectReference volumeAttributesClassName#9:*s
PersistentVolumeClaimStatus: phase#1:s=PersistentVolumeClaimPhase
    accessModes#2:[]s=PersistentVolumeAccessMode|atomic capacity#3:rl
    conditions#4:[]PersistentVolumeClaimCondition|merge:type|map:type allocatedResources#5:rl
    allocatedResourceStatuses#7:{}s=ClaimResourceStatus currentVolumeAttributesClassName#8:*s
    modifyVolumeStatus#9:*ModifyVolumeStatus
HostPathVolumeSource: path#1!:s type#2:*s=HostPathType
EmptyDirVolumeSource: medium#1:s=StorageMedium sizeLimit#2:*q
GCEPersistentDiskVolumeSource: pdName#1!:s fsType#2:s partition#3:i32 readOnly#4:b
AWSElasticBlockStoreVolumeSource: volumeID#1!:s fsType#2:s partition#3:i32 readOnly#4:b
GitRepoVolumeSource: repository#1!:s revision#2:s directory#3:s
SecretVolumeSource: secretName#1:s items#2:[]KeyToPath|atomic defaultMode#3:*i32 optional#4:*b
NFSVolumeSource: server#1!:s path#2!:s readOnly#3:b
ISCSIVolumeSource: targetPortal#1!:s iqn#2!:s lun#3!:i32 iscsiInterface#4:s fsType#5:s readOnly#6:b
    portals#7:[]s|atomic chapAuthDiscovery#8:b chapAuthSession#11:b secretRef#10:*LocalObjectReference
    initiatorName#12:*s
GlusterfsVolumeSource: endpoints#1!:s path#2!:s readOnly#3:b
PersistentVolumeClaimVolumeSource: claimName#1!:s readOnly#2:b
RBDVolumeSource: monitors#1!:[]s|atomic image#2!:s fsType#3:s pool#4:s user#5:s keyring#6:s
    secretRef#7:*LocalObjectReference readOnly#8:b
FlexVolumeSource: driver#1!:s fsType#2:s secretRef#3:*LocalObjectReference readOnly#4:b options#5:{}s
CinderVolumeSource: volumeID#1!:s fsType#2:s readOnly#3:b secretRef#4:*LocalObjectReference
CephFSVolumeSource: monitors#1!:[]s|atomic path#2:s user#3:s secretFile#4:s secretRef#5:*LocalObjectReference
    readOnly#6:b
FlockerVolumeSource: datasetName#1:s datasetUUID#2:s
DownwardAPIVolumeSource: items#1:[]DownwardAPIVolumeFile|atomic defaultMode#2:*i32
FCVolumeSource: targetWWNs#1:[]s|atomic lun#2:*i32 fsType#3:s readOnly#4:b wwids#5:[]s|atomic
AzureFileVolumeSource: secretName#1!:s shareName#2!:s readOnly#3:b
ConfigMapVolumeSource: ...LocalObjectReference#1 items#2:[]KeyToPath|atomic defaultMode#3:*i32 optional#4:*b
VsphereVirtualDiskVolumeSource: volumePath#1!:s fsType#2:s storagePolicyName#3:s storagePolicyID#4:s
QuobyteVolumeSource: registry#1!:s volume#2!:s readOnly#3:b user#4:s group#5:s tenant#6:s
AzureDiskVolumeSource: diskName#1!:s diskURI#2!:s cachingMode#3:*s=AzureDataDiskCachingMode fsType#4:*s
    readOnly#5:*b kind#6:*s=AzureDataDiskKind
PhotonPersistentDiskVolumeSource: pdID#1!:s fsType#2:s
ProjectedVolumeSource: sources#1!:[]VolumeProjection|atomic defaultMode#2:*i32
PortworxVolumeSource: volumeID#1!:s fsType#2:s readOnly#3:b
ScaleIOVolumeSource: gateway#1!:s system#2!:s secretRef#3!:*LocalObjectReference sslEnabled#4:b protectionDomain#5:s
    storagePool#6:s storageMode#7:s volumeName#8:s fsType#9:s readOnly#10:b
StorageOSVolumeSource: volumeName#1:s volumeNamespace#2:s fsType#3:s readOnly#4:b secretRef#5:*LocalObjectReference
CSIVolumeSource: driver#1!:s readOnly#2:*b fsType#3:*s volumeAttributes#4:{}s
    nodePublishSecretRef#5:*LocalObjectReference
EphemeralVolumeSource: volumeClaimTemplate#1:*PersistentVolumeClaimTemplate
ImageVolumeSource: reference#1:s pullPolicy#2:s=PullPolicy
ConfigMapEnvSource: ...LocalObjectReference#1 optional#2:*b
SecretEnvSource: ...LocalObjectReference#1 optional#2:*b
EnvVarSource: fieldRef#1:*ObjectFieldSelector resourceFieldRef#2:*ResourceFieldSelector
    configMapKeyRef#3:*ConfigMapKeySelector secretKeyRef#4:*SecretKeySelector
ProbeHandler: exec#1:*ExecAction httpGet#2:*HTTPGetAction tcpSocket#3:*TCPSocketAction grpc#4:*GRPCAction
LifecycleHandler: exec#1:*ExecAction httpGet#2:*HTTPGetAction tcpSocket#3:*TCPSocketAction sleep#4:*SleepAction
Capabilities: add#1:[]s=Capability|atomic drop#2:[]s=Capability|atomic
NodeSelector atomic: nodeSelectorTerms#1!:[]NodeSelectorTerm|atomic
PreferredSchedulingTerm: weight#1!:i32 preference#2!:NodeSelectorTerm
PodAffinityTerm: labelSelector#1:*LabelSelector namespaces#2:[]s|atomic topologyKey#3!:s
    namespaceSelector#4:*LabelSelector matchLabelKeys#5:[]s|atomic mismatchLabelKeys#6:[]s|atomic
WeightedPodAffinityTerm: weight#1!:i32 podAffinityTerm#2!:PodAffinityTerm
ContainerStateWaiting: reason#1:s message#2:s
ContainerStateRunning: startedAt#1:t
ContainerStateTerminated: exitCode#1!:i32 signal#2:i32 reason#3:s message#4:s startedAt#5:t finishedAt#6:t
    containerID#7:s
LinuxContainerUser: uid#1!:i64 gid#2!:i64 supplementalGroups#3:[]i64|atomic
ResourceHealth: resourceID#1!:s=ResourceID health#2:s=ResourceHealthStatus
PortStatus: port#1!:i32 protocol#2!:s=Protocol error#3:*s
VolumeResourceRequirements: limits#1:rl requests#2:rl
TypedLocalObjectReference atomic: apiGroup#1!:*s kind#2!:s name#3!:s
TypedObjectReference: apiGroup#1!:*s kind#2!:s name#3!:s namespace#4:*s
PersistentVolumeClaimCondition: type#1!:s=PersistentVolumeClaimConditionType status#2!:s=ConditionStatus
    lastProbeTime#3:t lastTransitionTime#4:t reason#5:s message#6:s
ModifyVolumeStatus: targetVolumeAttributesClassName#1:s status#2!:s=PersistentVolumeClaimModifyVolumeStatus
KeyToPath: key#1!:s path#2!:s mode#3:*i32
DownwardAPIVolumeFile: path#1!:s fieldRef#2:*ObjectFieldSelector resourceFieldRef#3:*ResourceFieldSelector
    mode#4:*i32
VolumeProjection: secret#1:*SecretProjection downwardAPI#2:*DownwardAPIProjection configMap#3:*ConfigMapProjection
    serviceAccountToken#4:*ServiceAccountTokenProjection clusterTrustBundle#5:*ClusterTrustBundleProjection
PersistentVolumeClaimTemplate: metadata#1:ObjectMeta spec#2!:PersistentVolumeClaimSpec
ObjectFieldSelector atomic: apiVersion#1:s fieldPath#2!:s
ResourceFieldSelector atomic: containerName#1:s resource#2!:s divisor#3:q
ConfigMapKeySelector atomic: ...LocalObjectReference#1 key#2!:s optional#3:*b
SecretKeySelector atomic: ...LocalObjectReference#1 key#2!:s optional#3:*b
ExecAction: command#1:[]s|atomic
HTTPGetAction: path#1:s port#2!:ios host#3:s scheme#4:s=URIScheme httpHeaders#5:[]HTTPHeader|atomic
TCPSocketAction: port#1!:ios host#2:s
GRPCAction: port#1!:i32 service#2!:*s
SleepAction: seconds#1!:i64
NodeSelectorTerm atomic: matchExpressions#1:[]NodeSelectorRequirement|atomic
    matchFields#2:[]NodeSelectorRequirement|atomic
SecretProjection: ...LocalObjectReference#1 items#2:[]KeyToPath|atomic optional#4:*b
DownwardAPIProjection: items#1:[]DownwardAPIVolumeFile|atomic
ConfigMapProjection: ...LocalObjectReference#1 items#2:[]KeyToPath|atomic optional#4:*b
ServiceAccountTokenProjection: audience#1:s expirationSeconds#2:*i64 path#3!:s
ClusterTrustBundleProjection: name#1:*s signerName#2:*s labelSelector#3:*LabelSelector optional#5:*b path#4!:s
HTTPHeader: name#1!:s value#2!:s
NodeSelectorRequirement: key#1!:s operator#2!:s=NodeSelectorOperator values#3:[]s|atomic

package io.k8s.api.apps.v1
Deployment kind=apps/v1/Deployment: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:DeploymentSpec
    status#3:DeploymentStatus
ReplicaSet kind=apps/v1/ReplicaSet: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:ReplicaSetSpec
    status#3:ReplicaSetStatus
DaemonSet kind=apps/v1/DaemonSet: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:DaemonSetSpec
    status#3:DaemonSetStatus
StatefulSet kind=apps/v1/StatefulSet: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:StatefulSetSpec
    status#3:StatefulSetStatus
ControllerRevision kind=apps/v1/ControllerRevision: apiVersion#-:s kind#-:s metadata#1:ObjectMeta data#2:any
    revision#3!:i64
DeploymentSpec: replicas#1:*i32 selector#2!:*LabelSelector template#3!:PodTemplateSpec
    strategy#4:DeploymentStrategy|retainKeys minReadySeconds#5:i32 revisionHistoryLimit#6:*i32 paused#7:b
    progressDeadlineSeconds#9:*i32
DeploymentStatus: observedGeneration#1:i64 replicas#2:i32 updatedReplicas#3:i32 readyReplicas#7:i32
    availableReplicas#4:i32 unavailableReplicas#5:i32 conditions#6:[]DeploymentCondition|merge:type|map:type
    collisionCount#8:*i32
ReplicaSetSpec: replicas#1:*i32 minReadySeconds#4:i32 selector#2!:*LabelSelector template#3:PodTemplateSpec
ReplicaSetStatus: replicas#1!:i32 fullyLabeledReplicas#2:i32 readyReplicas#4:i32 availableReplicas#5:i32
    observedGeneration#3:i64 conditions#6:[]ReplicaSetCondition|merge:type|map:type
DaemonSetSpec: selector#1!:*LabelSelector template#2!:PodTemplateSpec updateStrategy#3:DaemonSetUpdateStrategy
    minReadySeconds#4:i32 revisionHistoryLimit#6:*i32
DaemonSetStatus: currentNumberScheduled#1!:i32 numberMisscheduled#2!:i32 desiredNumberScheduled#3!:i32
    numberReady#4!:i32 observedGeneration#5:i64 updatedNumberScheduled#6:i32 numberAvailable#7:i32
    numberUnavailable#8:i32 collisionCount#9:*i32 conditions#10:[]DaemonSetCondition|merge:type|map:type
StatefulSetSpec: replicas#1:*i32 selector#2!:*LabelSelector template#3!:PodTemplateSpec
    volumeClaimTemplates#4:[]PersistentVolumeClaim|atomic serviceName#5!:s
    podManagementPolicy#6:s=PodManagementPolicyType updateStrategy#7:StatefulSetUpdateStrategy
    revisionHistoryLimit#8:*i32 minReadySeconds#9:i32
    persistentVolumeClaimRetentionPolicy#10:*StatefulSetPersistentVolumeClaimRetentionPolicy
    ordinals#11:*StatefulSetOrdinals
StatefulSetStatus: observedGeneration#1:i64 replicas#2!:i32 readyReplicas#3:i32 currentReplicas#4:i32
    updatedReplicas#5:i32 currentRevision#6:s updateRevision#7:s collisionCount#9:*i32
    conditions#10:[]StatefulSetCondition|merge:type|map:type availableReplicas#11!:i32
DeploymentStrategy: type#1:s=DeploymentStrategyType rollingUpdate#2:*RollingUpdateDeployment
DeploymentCondition: type#1!:s=DeploymentConditionType status#2!:s=ConditionStatus lastUpdateTime#6:t
    lastTransitionTime#7:t reason#4:s message#5:s
ReplicaSetCondition: type#1!:s=ReplicaSetConditionType status#2!:s=ConditionStatus lastTransitionTime#3:t reason#4:s
    message#5:s
DaemonSetUpdateStrategy: type#1:s=DaemonSetUpdateStrategyType rollingUpdate#2:*RollingUpdateDaemonSet
DaemonSetCondition: type#1!:s=DaemonSetConditionType status#2!:s=ConditionStatus lastTransitionTime#3:t reason#4:s
    message#5:s
StatefulSetUpdateStrategy: type#1:s=StatefulSetUpdateStrategyType rollingUpdate#2:*RollingUpdateStatefulSetStrategy
StatefulSetPersistentVolumeClaimRetentionPolicy: whenDeleted#1:s=PersistentVolumeClaimRetentionPolicyType
    whenScaled#2:s=PersistentVolumeClaimRetentionPolicyType
StatefulSetOrdinals: start#1!:i32
StatefulSetCondition: type#1!:s=StatefulSetConditionType status#2!:s=ConditionStatus lastTransitionTime#3:t
    reason#4:s message#5:s
RollingUpdateDeployment: maxUnavailable#1:*ios maxSurge#2:*ios
RollingUpdateDaemonSet: maxUnavailable#1:*ios maxSurge#2:*ios
RollingUpdateStatefulSetStrategy: partition#1:*i32 maxUnavailable#2:*ios

package io.k8s.api.batch.v1
Job kind=batch/v1/Job: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:JobSpec status#3:JobStatus
CronJob kind=batch/v1/CronJob: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:CronJobSpec
    status#3:CronJobStatus
JobSpec: parallelism#1:*i32 completions#2:*i32 activeDeadlineSeconds#3:*i64 podFailurePolicy#11:*PodFailurePolicy
    successPolicy#16:*SuccessPolicy backoffLimit#7:*i32 backoffLimitPerIndex#12:*i32 maxFailedIndexes#13:*i32
    selector#4:*LabelSelector manualSelector#5:*b template#6!:PodTemplateSpec ttlSecondsAfterFinished#8:*i32
    completionMode#9:*s=CompletionMode suspend#10:*b podReplacementPolicy#14:*s=PodReplacementPolicy managedBy#15:*s
JobStatus: conditions#1:[]JobCondition|merge:type|atomic startTime#2:*t completionTime#3:*t active#4:i32
    succeeded#5:i32 failed#6:i32 terminating#11:*i32 completedIndexes#7:s failedIndexes#10:*s
    uncountedTerminatedPods#8:*UncountedTerminatedPods ready#9:*i32
CronJobSpec: schedule#1!:s timeZone#8:*s startingDeadlineSeconds#2:*i64 concurrencyPolicy#3:s=ConcurrencyPolicy
    suspend#4:*b jobTemplate#5!:JobTemplateSpec successfulJobsHistoryLimit#6:*i32 failedJobsHistoryLimit#7:*i32
CronJobStatus: active#1:[]ObjectReference|atomic lastScheduleTime#4:*t lastSuccessfulTime#5:*t
PodFailurePolicy: rules#1!:[]PodFailurePolicyRule|atomic
SuccessPolicy: rules#1!:[]SuccessPolicyRule|atomic
JobCondition: type#1!:s=JobConditionType status#2!:s=ConditionStatus lastProbeTime#3:t lastTransitionTime#4:t
    reason#5:s message#6:s
UncountedTerminatedPods: succeeded#1:[]s=types.UID|set failed#2:[]s=types.UID|set
JobTemplateSpec: metadata#1:ObjectMeta spec#2:JobSpec
PodFailurePolicyRule: action#1!:s=PodFailurePolicyAction onExitCodes#2:*PodFailurePolicyOnExitCodesRequirement
    onPodConditions#3:[]PodFailurePolicyOnPodConditionsPattern|atomic
SuccessPolicyRule: succeededIndexes#1:*s succeededCount#2:*i32
PodFailurePolicyOnExitCodesRequirement: containerName#1:*s operator#2!:s=PodFailurePolicyOnExitCodesOperator
    values#3!:[]i32|set
PodFailurePolicyOnPodConditionsPattern: type#1!:s=PodConditionType status#2!:s=ConditionStatus

package io.k8s.api.coordination.v1
Lease kind=coordination.k8s.io/v1/Lease: apiVersion#-:s kind#-:s metadata#1:ObjectMeta spec#2:LeaseSpec
LeaseSpec: holderIdentity#1:*s leaseDurationSeconds#2:*i32 acquireTime#3:*mt renewTime#4:*mt leaseTransitions#5:*i32
    strategy#6:*s=CoordinatedLeaseStrategy preferredHolder#7:*s

package io.k8s.api.scheduling.v1
PriorityClass kind=scheduling.k8s.io/v1/PriorityClass: apiVersion#-:s kind#-:s metadata#1:ObjectMeta value#2!:i32
    globalDefault#3:b description#4:s preemptionPolicy#5:*s=v1.PreemptionPolicy

package io.k8s.api.discovery.v1
EndpointSlice kind=discovery.k8s.io/v1/EndpointSlice: apiVersion#-:s kind#-:s metadata#1:ObjectMeta
    addressType#4!:s=AddressType endpoints#2!:[]Endpoint|atomic ports#3!:[]EndpointPort|atomic
Endpoint: addresses#1!:[]s|set conditions#2:EndpointConditions hostname#3:*s targetRef#4:*ObjectReference
    deprecatedTopology#5:{}s nodeName#6:*s zone#7:*s hints#8:*EndpointHints
EndpointPort atomic: name#1:*s protocol#2:*s=Protocol port#3:*i32 appProtocol#4:*s
EndpointConditions: ready#1:*b serving#2:*b terminating#3:*b
EndpointHints: forZones#1:[]ForZone|atomic
ForZone: name#1!:s
)TABLE";

// ---------------------------------------------------------------------------------------------
// Parsing the table.

struct RawType {
  TypeSchema* type = nullptr;
  std::vector<std::string> tokens;
  int state = 0;  // 0 not built, 1 building, 2 built
};

struct Registry {
  std::deque<TypeSchema> types;
  std::deque<ValueType> values;
  std::deque<RawType> raw;
  std::map<std::string, RawType*, std::less<>> by_name;         // openapi name
  std::map<std::string, const TypeSchema*, std::less<>> kinds;  // "group/version/Kind"
  std::vector<std::string> problems;

  Registry() { parse(); }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
  }

  static std::vector<std::string> split_ws(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      std::size_t j = i;
      while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
      if (j > i) out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }

  static std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == sep) {
        out.emplace_back(s.substr(start, i - start));
        start = i + 1;
      }
    }
    return out;
  }

  static std::string alias_of(std::string_view package) {
    auto dot = package.rfind('.');
    return std::string(dot == std::string_view::npos ? package : package.substr(dot + 1));
  }

  void parse() {
    // Join continuation lines into logical lines.
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos <= kTable.size()) {
      auto end = kTable.find('\n', pos);
      if (end == std::string_view::npos) end = kTable.size();
      std::string_view line = kTable.substr(pos, end - pos);
      pos = end + 1;
      if (trim(line).empty() || trim(line).front() == '#') continue;
      if ((line.front() == ' ' || line.front() == '\t') && !lines.empty()) {
        lines.back().append(" ").append(trim(line));
      } else {
        lines.emplace_back(trim(line));
      }
    }
    std::string package;
    for (const auto& line : lines) {
      std::string_view l = line;
      if (l.substr(0, 8) == "package ") {
        package = std::string(trim(l.substr(8)));
        continue;
      }
      auto colon = l.find(':');
      if (colon == std::string_view::npos) {
        problems.push_back("line without ':': " + line);
        continue;
      }
      auto header = split_ws(l.substr(0, colon));
      if (header.empty()) {
        problems.push_back("line without a type name: " + line);
        continue;
      }
      TypeSchema& t = types.emplace_back();
      t.name = header[0];
      t.package = package;
      for (std::size_t i = 1; i < header.size(); ++i) {
        const auto& h = header[i];
        if (h == "atomic") {
          t.atomic = true;
        } else if (h.rfind("kind=", 0) == 0) {
          auto parts = split(std::string_view(h).substr(5), '/');
          if (parts.size() == 2) {
            t.version = parts[0];
            t.kind = parts[1];
          } else if (parts.size() == 3) {
            t.group = parts[0];
            t.version = parts[1];
            t.kind = parts[2];
          } else {
            problems.push_back(t.name + ": bad kind " + h);
          }
        } else {
          problems.push_back(t.name + ": unknown header word " + h);
        }
      }
      ValueType& self = values.emplace_back();
      self.kind = ValueKind::kObject;
      self.object = &t;
      self.go_type = t.go_name();
      t.self = &self;
      RawType& r = raw.emplace_back();
      r.type = &t;
      r.tokens = split_ws(l.substr(colon + 1));
      if (!by_name.emplace(t.openapi_name(), &r).second) problems.push_back("duplicate type " + t.openapi_name());
      if (t.is_kind()) kinds.emplace(t.group + "/" + t.version + "/" + t.kind, &t);
    }
    for (auto& r : raw) build(r);
  }

  RawType* resolve(std::string_view package, std::string_view name) {
    for (std::string_view pkg :
         {package, std::string_view("io.k8s.api.core.v1"), std::string_view("io.k8s.apimachinery.pkg.apis.meta.v1")}) {
      std::string key(pkg);
      key.append(".").append(name);
      auto it = by_name.find(key);
      if (it != by_name.end()) return it->second;
    }
    return nullptr;
  }

  ValueType* scalar(std::string_view token, const TypeSchema& owner) {
    std::string_view base = token;
    std::string_view go_name;
    if (auto eq = token.find('='); eq != std::string_view::npos) {
      base = token.substr(0, eq);
      go_name = token.substr(eq + 1);
    }
    ValueType& v = values.emplace_back();
    if (base == "s") {
      v.kind = ValueKind::kString;
      v.go_type = "string";
    } else if (base == "i32" || base == "i64") {
      v.kind = ValueKind::kInteger;
      v.format = base == "i32" ? "int32" : "int64";
      v.go_type = v.format;
    } else if (base == "f64") {
      v.kind = ValueKind::kNumber;
      v.format = "double";
      v.go_type = "float64";
    } else if (base == "b") {
      v.kind = ValueKind::kBoolean;
      v.go_type = "bool";
    } else if (base == "ios") {
      v.kind = ValueKind::kIntOrString;
      // IntOrString decodes a non-string through an int32, so that is the type Go's errors name.
      v.go_type = "int32";
    } else if (base == "q") {
      v.kind = ValueKind::kQuantity;
      v.go_type = "resource.Quantity";
    } else if (base == "t" || base == "mt") {
      v.kind = ValueKind::kDateTime;
      v.format = "date-time";
      v.micro_time = base == "mt";
      v.go_type = "string";  // Time decodes through a string first
    } else if (base == "bytes") {
      v.kind = ValueKind::kBytes;
      v.format = "byte";
      v.go_type = "[]uint8";
    } else if (base == "dur") {
      v.kind = ValueKind::kString;
      v.duration = true;
      v.go_type = "v1.Duration";
    } else if (base == "any") {
      v.kind = ValueKind::kAny;
    } else if (base == "rl") {
      v.kind = ValueKind::kMap;
      v.go_type = "v1.ResourceList";
      v.element = scalar("q", owner);
      return &v;
    } else if (auto* r = resolve(owner.package, base)) {
      v.kind = ValueKind::kObject;
      v.object = r->type;
      v.go_type = r->type->go_name();
    } else {
      problems.push_back(owner.name + ": unknown type " + std::string(token));
      v.kind = ValueKind::kAny;
    }
    if (!go_name.empty()) {
      v.go_type = go_name.find('.') != std::string_view::npos ? std::string(go_name)
                                                              : alias_of(owner.package) + "." + std::string(go_name);
    }
    return &v;
  }

  ValueType* type_expr(std::string_view expr, const TypeSchema& owner) {
    if (expr.substr(0, 2) == "[]") {
      ValueType& v = values.emplace_back();
      v.kind = ValueKind::kArray;
      v.element = type_expr(expr.substr(2), owner);
      v.go_type = "[]" + v.element->go_type;
      return &v;
    }
    if (expr.substr(0, 2) == "{}") {
      ValueType& v = values.emplace_back();
      v.kind = ValueKind::kMap;
      v.element = type_expr(expr.substr(2), owner);
      v.go_type = "map[string]" + v.element->go_type;
      return &v;
    }
    return scalar(expr, owner);
  }

  // `#N`, `#N!` or `#-` after a field name: sets the protobuf number, json_only and omit_empty.
  static bool proto_annotation(std::string_view text, FieldSchema& f) {
    if (text.size() < 2 || text.front() != '#') return false;
    text.remove_prefix(1);
    if (text == "-") {
      f.json_only = true;
      return true;
    }
    if (text.back() == '!') {
      f.omit_empty = false;
      text.remove_suffix(1);
    }
    std::int32_t n = 0;
    if (text.empty() || text.size() > 9) return false;
    for (char c : text) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
    }
    if (n <= 0 || n > 536870911) return false;  // protobuf's field number range
    f.proto_number = n;
    return true;
  }

  // Each protobuf number is used once per message (fields and inlines alike).
  void claim_number(const TypeSchema& t, std::int32_t number, const std::string& token) {
    int uses = 0;
    for (const auto& f : t.fields)
      if (!f.inlined && !f.json_only && f.proto_number == number) ++uses;
    for (const auto& in : t.inlines)
      if (in.proto_number == number) ++uses;
    // The token being claimed is not in `fields` yet, but an inline is already in `inlines`.
    if (uses > (token.rfind("...", 0) == 0 ? 1 : 0))
      problems.push_back(t.name + ": protobuf number " + std::to_string(number) + " used twice (" + token + ")");
  }

  void build(RawType& r) {
    if (r.state == 2) return;
    if (r.state == 1) {
      problems.push_back(r.type->name + ": inline cycle");
      return;
    }
    r.state = 1;
    TypeSchema& t = *r.type;
    for (const auto& token : r.tokens) {
      std::string_view tok = token;
      if (tok.substr(0, 3) == "...") {
        auto hash = tok.find('#');
        RawType* inl = resolve(t.package, tok.substr(3, hash == std::string_view::npos ? hash : hash - 3));
        if (inl == nullptr) {
          problems.push_back(t.name + ": unknown inline type " + token);
          continue;
        }
        build(*inl);
        FieldSchema number_of;  // the inline's own number, parsed like a field's
        if (!proto_annotation(hash == std::string_view::npos ? std::string_view() : tok.substr(hash), number_of) ||
            number_of.json_only) {
          problems.push_back(t.name + ": inline " + token + " needs a protobuf number (...Type#N)");
        } else {
          t.inlines.push_back({number_of.proto_number, inl->type});
          claim_number(t, number_of.proto_number, token);
        }
        for (const auto& f : inl->type->fields) {
          t.fields.push_back(f);
          t.fields.back().inlined = true;
        }
        continue;
      }
      auto parts = split(tok, '|');
      auto colon = parts[0].find(':');
      if (colon == std::string::npos) {
        problems.push_back(t.name + ": bad field " + token);
        continue;
      }
      FieldSchema f;
      std::string_view name_part = std::string_view(parts[0]).substr(0, colon);
      auto hash = name_part.find('#');
      f.name = std::string(name_part.substr(0, hash));
      if (!proto_annotation(hash == std::string_view::npos ? std::string_view() : name_part.substr(hash), f)) {
        problems.push_back(t.name + "." + f.name + ": no protobuf number (write #N, or #- for a JSON-only field)");
      } else if (!f.json_only) {
        claim_number(t, f.proto_number, token);
      }
      std::string_view type_text = std::string_view(parts[0]).substr(colon + 1);
      if (!type_text.empty() && type_text.front() == '*') {
        f.pointer = true;
        type_text.remove_prefix(1);
      }
      // Every field gets its own ValueType, so modifiers change only this field.
      ValueType* own = type_expr(type_text, t);
      for (std::size_t i = 1; i < parts.size(); ++i) {
        std::string_view mod = parts[i];
        if (mod.substr(0, 8) == "default:") {
          f.default_value = std::string(mod.substr(8));
        } else if (mod.substr(0, 4) == "map:") {
          own->list_type = ListType::kMap;
          own->list_map_keys = split(mod.substr(4), ',');
        } else if (mod == "set") {
          own->list_type = ListType::kSet;
        } else if (mod == "atomic") {
          if (own->kind == ValueKind::kMap)
            own->map_atomic = true;
          else
            own->list_type = ListType::kAtomic;
        } else {
          auto c = mod.find(':');
          f.patch_strategies = split(mod.substr(0, c), ',');
          if (c != std::string_view::npos) f.patch_merge_key = std::string(mod.substr(c + 1));
          for (const auto& s : f.patch_strategies)
            if (s != "merge" && s != "retainKeys" && s != "replace")
              problems.push_back(t.name + ": bad modifier " + token);
        }
      }
      f.type = own;
      t.fields.push_back(std::move(f));
    }
    r.state = 2;
  }
};

const Registry& registry() {
  static const Registry r;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Decoding checks.

std::string json_value_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "number";
    default:
      return "null";
  }
}

// Whether `v` is an integer that fits; Go rejects fractions and overflow with "number <literal>".
bool integer_fits(const Json& v, bool is32) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    return u <= static_cast<std::uint64_t>(is32 ? std::numeric_limits<std::int32_t>::max()
                                                : std::numeric_limits<std::int64_t>::max());
  }
  if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    return !is32 || (i >= std::numeric_limits<std::int32_t>::min() && i <= std::numeric_limits<std::int32_t>::max());
  }
  return false;
}

// resource.ParseQuantity's checks, with its error texts; empty when valid.
std::string quantity_error(std::string_view s) {
  static constexpr std::string_view kFormat =
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t num_start = i;
  int digits = 0, dots = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
    if (s[i] == '.')
      ++dots;
    else
      ++digits;
    ++i;
  }
  if (i == num_start) return std::string(kFormat);
  std::string_view suffix = s.substr(i);
  // The rest must match [eEinumkKMGTP]*[-+]?[0-9]*.
  std::size_t j = 0;
  while (j < suffix.size() && std::string_view("eEinumkKMGTP").find(suffix[j]) != std::string_view::npos) ++j;
  if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) ++j;
  while (j < suffix.size() && suffix[j] >= '0' && suffix[j] <= '9') ++j;
  if (j != suffix.size()) return std::string(kFormat);
  if (digits == 0 || dots > 1) return "unable to parse numeric part of quantity";
  static const std::set<std::string_view> kSuffixes = {"",  "n", "u",  "m",  "k",  "M",  "G",  "T",
                                                       "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (kSuffixes.count(suffix) != 0) return {};
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::size_t k = 1;
    if (suffix[k] == '+' || suffix[k] == '-') ++k;
    if (k < suffix.size()) {
      bool all_digits = true;
      for (std::size_t m = k; m < suffix.size(); ++m) all_digits = all_digits && suffix[m] >= '0' && suffix[m] <= '9';
      if (all_digits) return {};
    }
  }
  return "unable to parse quantity's suffix";
}

// The offset of the first byte Go's base64.StdEncoding rejects, or nullopt when valid.
std::optional<std::size_t> base64_error(std::string_view s) {
  auto is_b64 = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  };
  std::vector<std::size_t> at;  // offsets of the significant characters (Go skips CR and LF)
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] != '\r' && s[i] != '\n') at.push_back(i);
  const std::size_t n = at.size();
  for (std::size_t q = 0; q < n; q += 4) {
    for (std::size_t j = 0; j < 4; ++j) {
      std::size_t idx = q + j;
      if (idx >= n) return at[q];  // an incomplete quantum
      char c = s[at[idx]];
      if (c == '=') {
        if (j < 2) return at[idx];
        if (j == 2 && (idx + 1 >= n || s[at[idx + 1]] != '=')) return at[idx];
        if (q + 4 < n) return at[q + 4];  // nothing may follow the padding
        return std::nullopt;
      }
      if (!is_b64(c)) return at[idx];
    }
  }
  return std::nullopt;
}

struct Walker {
  std::vector<TypeError>* errors = nullptr;
  std::vector<std::string>* unknown = nullptr;

  // Go's error context: the innermost struct entered and the field names (no indices, no map keys).
  struct Context {
    std::string go_struct;
    std::string go_fields;
  };

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  void type_error(const Context& ctx, const std::string& path, const std::string& value, const std::string& go_type) {
    if (errors == nullptr) return;
    std::string msg = "json: cannot unmarshal " + value + " into Go ";
    if (ctx.go_struct.empty())
      msg += "value of type " + go_type;
    else
      msg += "struct field " + ctx.go_struct + "." + ctx.go_fields + " of type " + go_type;
    errors->push_back({path, std::move(msg)});
  }

  void plain_error(const std::string& path, std::string message) {
    if (errors != nullptr) errors->push_back({path, std::move(message)});
  }

  void walk_struct(const TypeSchema& t, const Json& v, const std::string& path, const Context& ctx) {
    if (!v.is_object()) {
      if (!v.is_null()) type_error(ctx, path, json_value_name(v), t.go_name());
      return;
    }
    for (const auto& [key, child] : v.items()) {
      const FieldSchema* f = t.field(key);
      std::string child_path = join(path, key);
      if (f == nullptr) {
        if (unknown != nullptr) unknown->push_back(child_path);
        continue;
      }
      Context inner{t.name, ctx.go_struct.empty() ? key : join(ctx.go_fields, key)};
      walk_value(*f->type, child, child_path, inner);
    }
  }

  void walk_value(const ValueType& vt, const Json& v, const std::string& path, const Context& ctx) {
    if (v.is_null()) return;
    switch (vt.kind) {
      case ValueKind::kObject:
        walk_struct(*vt.object, v, path, ctx);
        return;
      case ValueKind::kArray:
        if (!v.is_array()) {
          type_error(ctx, path, json_value_name(v), vt.go_type);
          return;
        }
        for (std::size_t i = 0; i < v.size(); ++i)
          walk_value(*vt.element, v[i], path + "[" + std::to_string(i) + "]", ctx);
        return;
      case ValueKind::kMap:
        if (!v.is_object()) {
          type_error(ctx, path, json_value_name(v), vt.go_type);
          return;
        }
        for (const auto& [key, child] : v.items()) walk_value(*vt.element, child, join(path, key), ctx);
        return;
      case ValueKind::kString:
        if (!v.is_string()) type_error(ctx, path, json_value_name(v), vt.go_type);
        return;
      case ValueKind::kBoolean:
        if (!v.is_boolean()) type_error(ctx, path, json_value_name(v), vt.go_type);
        return;
      case ValueKind::kNumber:
        if (!v.is_number()) type_error(ctx, path, json_value_name(v), vt.go_type);
        return;
      case ValueKind::kInteger:
      case ValueKind::kIntOrString:
        if (vt.kind == ValueKind::kIntOrString && v.is_string()) return;
        if (!v.is_number())
          type_error(ctx, path, json_value_name(v), vt.go_type);
        else if (!integer_fits(v, vt.go_type == "int32"))
          type_error(ctx, path, "number " + dump_text(v), vt.go_type);
        return;
      case ValueKind::kQuantity:
        if (v.is_number()) return;
        if (!v.is_string())
          plain_error(path, quantity_error("!"));
        else if (auto e = quantity_error(v.get_ref<const std::string&>()); !e.empty())
          plain_error(path, e);
        return;
      case ValueKind::kDateTime:
        if (!v.is_string()) {
          type_error(ctx, path, json_value_name(v), "string");
        } else if (!parse_rfc3339(v.get_ref<const std::string&>())) {
          const auto& s = v.get_ref<const std::string&>();
          std::string layout = vt.micro_time ? "2006-01-02T15:04:05.000000Z07:00" : "2006-01-02T15:04:05Z07:00";
          plain_error(path, "parsing time \"" + s + "\" as \"" + layout + "\": cannot parse \"" + s + "\" as \"2006\"");
        }
        return;
      case ValueKind::kBytes:
        if (!v.is_string()) {
          if (!v.is_array()) type_error(ctx, path, json_value_name(v), vt.go_type);
        } else if (auto at = base64_error(v.get_ref<const std::string&>())) {
          plain_error(path, "illegal base64 data at input byte " + std::to_string(*at));
        }
        return;
      case ValueKind::kAny:
        return;
    }
  }
};

}  // namespace

std::string dump_text(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool FieldSchema::has_strategy(std::string_view strategy) const noexcept {
  for (const auto& s : patch_strategies)
    if (s == strategy) return true;
  return false;
}

const FieldSchema* TypeSchema::field(std::string_view json_name) const noexcept {
  for (const auto& f : fields)
    if (f.name == json_name) return &f;
  return nullptr;
}

const FieldSchema* TypeSchema::proto_field(std::int32_t number) const noexcept {
  for (const auto& f : fields)
    if (!f.inlined && !f.json_only && f.proto_number == number) return &f;
  return nullptr;
}

const TypeSchema* TypeSchema::proto_inline(std::int32_t number) const noexcept {
  for (const auto& in : inlines)
    if (in.proto_number == number) return in.type;
  return nullptr;
}

std::string TypeSchema::go_name() const {
  auto dot = package.rfind('.');
  return (dot == std::string::npos ? package : package.substr(dot + 1)) + "." + name;
}

const TypeSchema* schema_for(std::string_view group, std::string_view version, std::string_view kind) noexcept {
  const auto& r = registry();
  std::string key;
  key.append(group).append("/").append(version).append("/").append(kind);
  auto it = r.kinds.find(key);
  return it == r.kinds.end() ? nullptr : it->second;
}

const TypeSchema* schema_for_object(const Json& object) noexcept {
  if (!object.is_object()) return nullptr;
  auto av = object.find("apiVersion");
  auto k = object.find("kind");
  if (av == object.end() || k == object.end() || !av->is_string() || !k->is_string()) return nullptr;
  std::string_view api_version = av->get_ref<const std::string&>();
  auto slash = api_version.find('/');
  std::string_view group = slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
  std::string_view version = slash == std::string_view::npos ? api_version : api_version.substr(slash + 1);
  return schema_for(group, version, k->get_ref<const std::string&>());
}

const TypeSchema* find_type(std::string_view openapi_name) noexcept {
  const auto& r = registry();
  auto it = r.by_name.find(openapi_name);
  return it == r.by_name.end() ? nullptr : it->second->type;
}

std::vector<const TypeSchema*> all_types() {
  std::vector<const TypeSchema*> out;
  for (const auto& t : registry().types) out.push_back(&t);
  return out;
}

const std::vector<std::string>& schema_table_problems() { return registry().problems; }

const ValueType* lookup_path(const TypeSchema& type, const std::vector<std::string>& fields) noexcept {
  const ValueType* vt = type.self;
  for (const auto& segment : fields) {
    if (vt == nullptr) return nullptr;
    if (vt->kind == ValueKind::kObject) {
      const FieldSchema* f = vt->object->field(segment);
      vt = f == nullptr ? nullptr : f->type;
    } else if (vt->kind == ValueKind::kArray || vt->kind == ValueKind::kMap) {
      vt = vt->element;
    } else {
      return nullptr;
    }
  }
  return vt;
}

std::vector<std::string> unknown_fields(const TypeSchema& schema, const Json& object) {
  std::vector<std::string> out;
  Walker w;
  w.unknown = &out;
  try {
    w.walk_struct(schema, object, "", {});
  } catch (const std::exception&) {
    // Only allocation can fail here; report what was found.
  }
  return out;
}

std::vector<TypeError> type_errors(const TypeSchema& schema, const Json& object) {
  std::vector<TypeError> out;
  Walker w;
  w.errors = &out;
  try {
    w.walk_struct(schema, object, "", {});
  } catch (const std::exception&) {
    // As above.
  }
  return out;
}

std::string strict_decoding_message(const std::vector<std::string>& unknown) {
  std::string out = "strict decoding error: ";
  for (std::size_t i = 0; i < unknown.size(); ++i) {
    if (i > 0) out += ", ";
    out += "unknown field " + dump_text(Json(unknown[i]));
  }
  return out;
}

std::string decode_error_message(std::string_view body_kind, std::string_view body_version, std::string_view kind,
                                 std::string_view detail) {
  std::string out(body_kind);
  out.append(" in version ").append(dump_text(Json(std::string(body_version))));
  out.append(" cannot be handled as a ").append(kind).append(": ").append(detail);
  return out;
}

Status check_decode(const TypeSchema& schema, const Json& object, bool strict) {
  std::string body_kind = schema.kind;
  std::string body_version = schema.version;
  if (object.is_object()) {
    if (auto k = object.find("kind"); k != object.end() && k->is_string() && !k->get_ref<const std::string&>().empty())
      body_kind = k->get<std::string>();
    if (auto av = object.find("apiVersion"); av != object.end() && av->is_string()) {
      const auto& s = av->get_ref<const std::string&>();
      auto slash = s.find('/');
      if (!s.empty()) body_version = slash == std::string::npos ? s : s.substr(slash + 1);
    }
  }
  auto errors = type_errors(schema, object);
  if (!errors.empty())
    return plugin::bad_request(decode_error_message(body_kind, body_version, schema.kind, errors.front().message));
  if (strict) {
    auto unknown = unknown_fields(schema, object);
    if (!unknown.empty())
      return plugin::bad_request(
          decode_error_message(body_kind, body_version, schema.kind, strict_decoding_message(unknown)));
  }
  return Status::ok();
}

}  // namespace skiff::kernel::api
