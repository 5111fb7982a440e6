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
// A field is `json:type|modifier|…`, or `...Type` to inline another type's fields (Go's ",inline").
// Types: s string, i32, i64, f64, b bool, ios int-or-string, q quantity, t time, mt micro time,
// bytes (base64), any (free-form), rl (v1.ResourceList, a map of quantities), a type name, []T, {}T.
// `s=Name` names the Go type for decode errors (v1.Name; a dotted name is taken as is).
// Modifiers: merge[:key] / merge,retainKeys:key / retainKeys (patchStrategy / patchMergeKey),
// map:k1,k2 / set / atomic (listType and listMapKeys; atomic on a map is mapType=atomic),
// default:V (the string default that server-side apply assumes for an omitted list-map key).
// A list without a listType modifier is atomic, as server-side apply treats it.
constexpr std::string_view kTable = R"TABLE(
package io.k8s.apimachinery.pkg.apis.meta.v1
ManagedFieldsEntry: manager:s operation:s=ManagedFieldsOperationType apiVersion:s time:t fieldsType:s
    fieldsV1:any subresource:s
ObjectMeta: name:s generateName:s namespace:s selfLink:s uid:s=types.UID resourceVersion:s generation:i64
    creationTimestamp:t deletionTimestamp:t deletionGracePeriodSeconds:i64 labels:{}s annotations:{}s
    ownerReferences:[]OwnerReference|merge:uid|map:uid finalizers:[]s|merge|set
    managedFields:[]ManagedFieldsEntry|atomic
OwnerReference atomic: apiVersion:s kind:s name:s uid:s=types.UID controller:b blockOwnerDeletion:b
Condition: type:s status:s=ConditionStatus observedGeneration:i64 lastTransitionTime:t reason:s message:s
LabelSelector atomic: matchLabels:{}s matchExpressions:[]LabelSelectorRequirement|atomic
LabelSelectorRequirement: key:s operator:s=LabelSelectorOperator values:[]s|atomic
ListMeta: selfLink:s resourceVersion:s continue:s remainingItemCount:i64
Status: apiVersion:s kind:s metadata:ListMeta status:s message:s reason:s=StatusReason details:StatusDetails code:i32
StatusDetails: name:s group:s kind:s uid:s=types.UID causes:[]StatusCause|atomic retryAfterSeconds:i32
StatusCause: reason:s=CauseType message:s field:s
DeleteOptions: apiVersion:s kind:s gracePeriodSeconds:i64 preconditions:Preconditions orphanDependents:b
    propagationPolicy:s=DeletionPropagation dryRun:[]s|atomic ignoreStoreReadErrorWithClusterBreakingPotential:b
Preconditions: uid:s=types.UID resourceVersion:s

package io.k8s.api.core.v1
Namespace kind=v1/Namespace: apiVersion:s kind:s metadata:ObjectMeta spec:NamespaceSpec status:NamespaceStatus
Pod kind=v1/Pod: apiVersion:s kind:s metadata:ObjectMeta spec:PodSpec status:PodStatus
Service kind=v1/Service: apiVersion:s kind:s metadata:ObjectMeta spec:ServiceSpec status:ServiceStatus
Endpoints kind=v1/Endpoints: apiVersion:s kind:s metadata:ObjectMeta subsets:[]EndpointSubset|atomic
Node kind=v1/Node: apiVersion:s kind:s metadata:ObjectMeta spec:NodeSpec status:NodeStatus
Event kind=v1/Event: apiVersion:s kind:s metadata:ObjectMeta involvedObject:ObjectReference reason:s message:s
    source:EventSource firstTimestamp:t lastTimestamp:t count:i32 type:s eventTime:mt series:EventSeries
    action:s related:ObjectReference reportingComponent:s reportingInstance:s
ConfigMap kind=v1/ConfigMap: apiVersion:s kind:s metadata:ObjectMeta immutable:b data:{}s binaryData:{}bytes
Secret kind=v1/Secret: apiVersion:s kind:s metadata:ObjectMeta immutable:b data:{}bytes stringData:{}s
    type:s=SecretType
ServiceAccount kind=v1/ServiceAccount: apiVersion:s kind:s metadata:ObjectMeta
    secrets:[]ObjectReference|merge:name|map:name imagePullSecrets:[]LocalObjectReference|atomic
    automountServiceAccountToken:b
NamespaceSpec: finalizers:[]s=FinalizerName|atomic
NamespaceStatus: phase:s=NamespacePhase conditions:[]NamespaceCondition|merge:type|map:type
PodSpec: volumes:[]Volume|merge,retainKeys:name|map:name initContainers:[]Container|merge:name|map:name
    containers:[]Container|merge:name|map:name ephemeralContainers:[]EphemeralContainer|merge:name|map:name
    restartPolicy:s=RestartPolicy terminationGracePeriodSeconds:i64 activeDeadlineSeconds:i64
    dnsPolicy:s=DNSPolicy nodeSelector:{}s|atomic serviceAccountName:s serviceAccount:s
    automountServiceAccountToken:b nodeName:s hostNetwork:b hostPID:b hostIPC:b shareProcessNamespace:b
    securityContext:PodSecurityContext imagePullSecrets:[]LocalObjectReference|merge:name|map:name hostname:s
    subdomain:s affinity:Affinity schedulerName:s tolerations:[]Toleration|atomic
    hostAliases:[]HostAlias|merge:ip|map:ip priorityClassName:s priority:i32 dnsConfig:PodDNSConfig
    readinessGates:[]PodReadinessGate|atomic runtimeClassName:s enableServiceLinks:b
    preemptionPolicy:s=PreemptionPolicy overhead:rl
    topologySpreadConstraints:[]TopologySpreadConstraint|merge:topologyKey|map:topologyKey,whenUnsatisfiable
    setHostnameAsFQDN:b os:PodOS hostUsers:b schedulingGates:[]PodSchedulingGate|merge:name|map:name
    resourceClaims:[]PodResourceClaim|merge,retainKeys:name|map:name resources:ResourceRequirements
PodStatus: phase:s=PodPhase conditions:[]PodCondition|merge:type|map:type message:s reason:s nominatedNodeName:s
    hostIP:s hostIPs:[]HostIP|merge:ip|atomic podIP:s podIPs:[]PodIP|merge:ip|map:ip startTime:t
    initContainerStatuses:[]ContainerStatus|atomic containerStatuses:[]ContainerStatus|atomic
    qosClass:s=PodQOSClass ephemeralContainerStatuses:[]ContainerStatus|atomic resize:s=PodResizeStatus
    resourceClaimStatuses:[]PodResourceClaimStatus|merge,retainKeys:name|map:name
ServiceSpec: ports:[]ServicePort|merge:port|map:port,protocol selector:{}s|atomic clusterIP:s
    clusterIPs:[]s|atomic type:s=ServiceType externalIPs:[]s|atomic sessionAffinity:s=ServiceAffinity
    loadBalancerIP:s loadBalancerSourceRanges:[]s|atomic externalName:s
    externalTrafficPolicy:s=ServiceExternalTrafficPolicy healthCheckNodePort:i32 publishNotReadyAddresses:b
    sessionAffinityConfig:SessionAffinityConfig ipFamilies:[]s=IPFamily|atomic ipFamilyPolicy:s=IPFamilyPolicy
    allocateLoadBalancerNodePorts:b loadBalancerClass:s internalTrafficPolicy:s=ServiceInternalTrafficPolicy
    trafficDistribution:s
ServiceStatus: loadBalancer:LoadBalancerStatus conditions:[]Condition|merge:type|map:type
EndpointSubset: addresses:[]EndpointAddress|atomic notReadyAddresses:[]EndpointAddress|atomic
    ports:[]EndpointPort|atomic
NodeSpec: podCIDR:s podCIDRs:[]s|merge|set providerID:s unschedulable:b taints:[]Taint|atomic
    configSource:NodeConfigSource externalID:s
NodeStatus: capacity:rl allocatable:rl phase:s=NodePhase
    conditions:[]NodeCondition|merge:type|map:type addresses:[]NodeAddress|merge:type|map:type
    daemonEndpoints:NodeDaemonEndpoints nodeInfo:NodeSystemInfo images:[]ContainerImage|atomic
    volumesInUse:[]s=UniqueVolumeName|atomic volumesAttached:[]AttachedVolume|atomic config:NodeConfigStatus
    runtimeHandlers:[]NodeRuntimeHandler|atomic features:NodeFeatures
ObjectReference atomic: kind:s namespace:s name:s uid:s=types.UID apiVersion:s resourceVersion:s fieldPath:s
EventSource: component:s host:s
EventSeries: count:i32 lastObservedTime:mt
LocalObjectReference atomic: name:s
NamespaceCondition: type:s=NamespaceConditionType status:s=ConditionStatus lastTransitionTime:t reason:s
    message:s
Volume: name:s ...VolumeSource
Container: name:s image:s command:[]s|atomic args:[]s|atomic workingDir:s
    ports:[]ContainerPort|merge:containerPort|map:containerPort,protocol envFrom:[]EnvFromSource|atomic
    env:[]EnvVar|merge:name|map:name resources:ResourceRequirements resizePolicy:[]ContainerResizePolicy|atomic
    restartPolicy:s=ContainerRestartPolicy volumeMounts:[]VolumeMount|merge:mountPath|map:mountPath
    volumeDevices:[]VolumeDevice|merge:devicePath|map:devicePath livenessProbe:Probe readinessProbe:Probe
    startupProbe:Probe lifecycle:Lifecycle terminationMessagePath:s
    terminationMessagePolicy:s=TerminationMessagePolicy imagePullPolicy:s=PullPolicy
    securityContext:SecurityContext stdin:b stdinOnce:b tty:b
EphemeralContainer: ...EphemeralContainerCommon targetContainerName:s
PodSecurityContext: seLinuxOptions:SELinuxOptions windowsOptions:WindowsSecurityContextOptions runAsUser:i64
    runAsGroup:i64 runAsNonRoot:b supplementalGroups:[]i64|atomic
    supplementalGroupsPolicy:s=SupplementalGroupsPolicy fsGroup:i64 sysctls:[]Sysctl|atomic
    fsGroupChangePolicy:s=PodFSGroupChangePolicy seccompProfile:SeccompProfile appArmorProfile:AppArmorProfile
    seLinuxChangePolicy:s=PodSELinuxChangePolicy
Affinity: nodeAffinity:NodeAffinity podAffinity:PodAffinity podAntiAffinity:PodAntiAffinity
Toleration: key:s operator:s=TolerationOperator value:s effect:s=TaintEffect tolerationSeconds:i64
HostAlias: ip:s hostnames:[]s|atomic
PodDNSConfig: nameservers:[]s|atomic searches:[]s|atomic options:[]PodDNSConfigOption|atomic
PodReadinessGate: conditionType:s=PodConditionType
TopologySpreadConstraint: maxSkew:i32 topologyKey:s whenUnsatisfiable:s=UnsatisfiableConstraintAction
    labelSelector:LabelSelector minDomains:i32 nodeAffinityPolicy:s=NodeInclusionPolicy
    nodeTaintsPolicy:s=NodeInclusionPolicy matchLabelKeys:[]s|atomic
PodOS: name:s=OSName
PodSchedulingGate: name:s
PodResourceClaim: name:s resourceClaimName:s resourceClaimTemplateName:s
ResourceRequirements: limits:rl requests:rl claims:[]ResourceClaim|map:name
PodCondition: type:s=PodConditionType status:s=ConditionStatus lastProbeTime:t lastTransitionTime:t reason:s
    message:s
HostIP: ip:s
PodIP: ip:s
ContainerStatus: name:s state:ContainerState lastState:ContainerState ready:b restartCount:i32 image:s imageID:s
    containerID:s started:b allocatedResources:rl resources:ResourceRequirements
    volumeMounts:[]VolumeMountStatus|merge:mountPath|map:mountPath user:ContainerUser
    allocatedResourcesStatus:[]ResourceStatus|merge:name|map:name
PodResourceClaimStatus: name:s resourceClaimName:s
ServicePort: name:s protocol:s=Protocol|default:TCP appProtocol:s port:i32 targetPort:ios nodePort:i32
SessionAffinityConfig: clientIP:ClientIPConfig
LoadBalancerStatus: ingress:[]LoadBalancerIngress|atomic
EndpointAddress atomic: ip:s hostname:s nodeName:s targetRef:ObjectReference
EndpointPort atomic: name:s port:i32 protocol:s=Protocol appProtocol:s
Taint: key:s value:s effect:s=TaintEffect timeAdded:t
NodeConfigSource: configMap:ConfigMapNodeConfigSource
NodeCondition: type:s=NodeConditionType status:s=ConditionStatus lastHeartbeatTime:t lastTransitionTime:t
    reason:s message:s
NodeAddress: type:s=NodeAddressType address:s
NodeDaemonEndpoints: kubeletEndpoint:DaemonEndpoint
NodeSystemInfo: machineID:s systemUUID:s bootID:s kernelVersion:s osImage:s containerRuntimeVersion:s
    kubeletVersion:s kubeProxyVersion:s operatingSystem:s architecture:s
ContainerImage: names:[]s|atomic sizeBytes:i64
AttachedVolume: name:s=UniqueVolumeName devicePath:s
NodeConfigStatus: assigned:NodeConfigSource active:NodeConfigSource lastKnownGood:NodeConfigSource error:s
NodeRuntimeHandler: name:s features:NodeRuntimeHandlerFeatures
NodeFeatures: supplementalGroupsPolicy:b
PodTemplateSpec: metadata:ObjectMeta spec:PodSpec
PersistentVolumeClaim: apiVersion:s kind:s metadata:ObjectMeta spec:PersistentVolumeClaimSpec
    status:PersistentVolumeClaimStatus
VolumeSource: hostPath:HostPathVolumeSource emptyDir:EmptyDirVolumeSource
    gcePersistentDisk:GCEPersistentDiskVolumeSource awsElasticBlockStore:AWSElasticBlockStoreVolumeSource
    gitRepo:GitRepoVolumeSource secret:SecretVolumeSource nfs:NFSVolumeSource iscsi:ISCSIVolumeSource
    glusterfs:GlusterfsVolumeSource persistentVolumeClaim:PersistentVolumeClaimVolumeSource rbd:RBDVolumeSource
    flexVolume:FlexVolumeSource cinder:CinderVolumeSource cephfs:CephFSVolumeSource flocker:FlockerVolumeSource
    downwardAPI:DownwardAPIVolumeSource fc:FCVolumeSource azureFile:AzureFileVolumeSource
    configMap:ConfigMapVolumeSource vsphereVolume:VsphereVirtualDiskVolumeSource quobyte:QuobyteVolumeSource
    azureDisk:AzureDiskVolumeSource photonPersistentDisk:PhotonPersistentDiskVolumeSource
    projected:ProjectedVolumeSource portworxVolume:PortworxVolumeSource scaleIO:ScaleIOVolumeSource
    storageos:StorageOSVolumeSource csi:CSIVolumeSource ephemeral:EphemeralVolumeSource image:ImageVolumeSource
ContainerPort: name:s hostPort:i32 containerPort:i32 protocol:s=Protocol|default:TCP hostIP:s
EnvFromSource: prefix:s configMapRef:ConfigMapEnvSource secretRef:SecretEnvSource
EnvVar: name:s value:s valueFrom:EnvVarSource
ContainerResizePolicy: resourceName:s=ResourceName restartPolicy:s=ResourceResizeRestartPolicy
VolumeMount: name:s readOnly:b recursiveReadOnly:s=RecursiveReadOnlyMode mountPath:s subPath:s
    mountPropagation:s=MountPropagationMode subPathExpr:s
VolumeDevice: name:s devicePath:s
Probe: ...ProbeHandler initialDelaySeconds:i32 timeoutSeconds:i32 periodSeconds:i32 successThreshold:i32
    failureThreshold:i32 terminationGracePeriodSeconds:i64
Lifecycle: postStart:LifecycleHandler preStop:LifecycleHandler
SecurityContext: capabilities:Capabilities privileged:b seLinuxOptions:SELinuxOptions
    windowsOptions:WindowsSecurityContextOptions runAsUser:i64 runAsGroup:i64 runAsNonRoot:b
    readOnlyRootFilesystem:b allowPrivilegeEscalation:b procMount:s=ProcMountType seccompProfile:SeccompProfile
    appArmorProfile:AppArmorProfile
EphemeralContainerCommon: name:s image:s command:[]s|atomic args:[]s|atomic workingDir:s
    ports:[]ContainerPort|merge:containerPort|map:containerPort,protocol envFrom:[]EnvFromSource|atomic
    env:[]EnvVar|merge:name|map:name resources:ResourceRequirements resizePolicy:[]ContainerResizePolicy|atomic
    restartPolicy:s=ContainerRestartPolicy volumeMounts:[]VolumeMount|merge:mountPath|map:mountPath
    volumeDevices:[]VolumeDevice|merge:devicePath|map:devicePath livenessProbe:Probe readinessProbe:Probe
    startupProbe:Probe lifecycle:Lifecycle terminationMessagePath:s
    terminationMessagePolicy:s=TerminationMessagePolicy imagePullPolicy:s=PullPolicy
    securityContext:SecurityContext stdin:b stdinOnce:b tty:b
SELinuxOptions: user:s role:s type:s level:s
WindowsSecurityContextOptions: gmsaCredentialSpecName:s gmsaCredentialSpec:s runAsUserName:s hostProcess:b
Sysctl: name:s value:s
SeccompProfile: type:s=SeccompProfileType localhostProfile:s
AppArmorProfile: type:s=AppArmorProfileType localhostProfile:s
NodeAffinity: requiredDuringSchedulingIgnoredDuringExecution:NodeSelector
    preferredDuringSchedulingIgnoredDuringExecution:[]PreferredSchedulingTerm|atomic
PodAffinity: requiredDuringSchedulingIgnoredDuringExecution:[]PodAffinityTerm|atomic
    preferredDuringSchedulingIgnoredDuringExecution:[]WeightedPodAffinityTerm|atomic
PodAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution:[]PodAffinityTerm|atomic
    preferredDuringSchedulingIgnoredDuringExecution:[]WeightedPodAffinityTerm|atomic
PodDNSConfigOption: name:s value:s
ResourceClaim: name:s request:s
ContainerState: waiting:ContainerStateWaiting running:ContainerStateRunning terminated:ContainerStateTerminated
VolumeMountStatus: name:s mountPath:s readOnly:b recursiveReadOnly:s=RecursiveReadOnlyMode
ContainerUser: linux:LinuxContainerUser
ResourceStatus: name:s=ResourceName resources:[]ResourceHealth|map:resourceID
ClientIPConfig: timeoutSeconds:i32
LoadBalancerIngress: ip:s hostname:s ipMode:s=LoadBalancerIPMode ports:[]PortStatus|atomic
ConfigMapNodeConfigSource: namespace:s name:s uid:s=types.UID resourceVersion:s kubeletConfigKey:s
DaemonEndpoint: Port:i32
NodeRuntimeHandlerFeatures: recursiveReadOnlyMounts:b userNamespaces:b
PersistentVolumeClaimSpec: accessModes:[]s=PersistentVolumeAccessMode|atomic selector:LabelSelector
    resources:VolumeResourceRequirements volumeName:s storageClassName:s volumeMode:s=PersistentVolumeMode
    dataSource:TypedLocalObjectReference dataSourceRef:TypedObjectReference volumeAttributesClassName:s
PersistentVolumeClaimStatus: phase:s=PersistentVolumeClaimPhase
    accessModes:[]s=PersistentVolumeAccessMode|atomic capacity:rl
    conditions:[]PersistentVolumeClaimCondition|merge:type|map:type allocatedResources:rl
    allocatedResourceStatuses:{}s=ClaimResourceStatus currentVolumeAttributesClassName:s
    modifyVolumeStatus:ModifyVolumeStatus
HostPathVolumeSource: path:s type:s=HostPathType
EmptyDirVolumeSource: medium:s=StorageMedium sizeLimit:q
GCEPersistentDiskVolumeSource: pdName:s fsType:s partition:i32 readOnly:b
AWSElasticBlockStoreVolumeSource: volumeID:s fsType:s partition:i32 readOnly:b
GitRepoVolumeSource: repository:s revision:s directory:s
SecretVolumeSource: secretName:s items:[]KeyToPath|atomic defaultMode:i32 optional:b
NFSVolumeSource: server:s path:s readOnly:b
ISCSIVolumeSource: targetPortal:s iqn:s lun:i32 iscsiInterface:s fsType:s readOnly:b portals:[]s|atomic
    chapAuthDiscovery:b chapAuthSession:b secretRef:LocalObjectReference initiatorName:s
GlusterfsVolumeSource: endpoints:s path:s readOnly:b
PersistentVolumeClaimVolumeSource: claimName:s readOnly:b
RBDVolumeSource: monitors:[]s|atomic image:s fsType:s pool:s user:s keyring:s secretRef:LocalObjectReference
    readOnly:b
FlexVolumeSource: driver:s fsType:s secretRef:LocalObjectReference readOnly:b options:{}s
CinderVolumeSource: volumeID:s fsType:s readOnly:b secretRef:LocalObjectReference
CephFSVolumeSource: monitors:[]s|atomic path:s user:s secretFile:s secretRef:LocalObjectReference readOnly:b
FlockerVolumeSource: datasetName:s datasetUUID:s
DownwardAPIVolumeSource: items:[]DownwardAPIVolumeFile|atomic defaultMode:i32
FCVolumeSource: targetWWNs:[]s|atomic lun:i32 fsType:s readOnly:b wwids:[]s|atomic
AzureFileVolumeSource: secretName:s shareName:s readOnly:b
ConfigMapVolumeSource: ...LocalObjectReference items:[]KeyToPath|atomic defaultMode:i32 optional:b
VsphereVirtualDiskVolumeSource: volumePath:s fsType:s storagePolicyName:s storagePolicyID:s
QuobyteVolumeSource: registry:s volume:s readOnly:b user:s group:s tenant:s
AzureDiskVolumeSource: diskName:s diskURI:s cachingMode:s=AzureDataDiskCachingMode fsType:s readOnly:b
    kind:s=AzureDataDiskKind
PhotonPersistentDiskVolumeSource: pdID:s fsType:s
ProjectedVolumeSource: sources:[]VolumeProjection|atomic defaultMode:i32
PortworxVolumeSource: volumeID:s fsType:s readOnly:b
ScaleIOVolumeSource: gateway:s system:s secretRef:LocalObjectReference sslEnabled:b protectionDomain:s
    storagePool:s storageMode:s volumeName:s fsType:s readOnly:b
StorageOSVolumeSource: volumeName:s volumeNamespace:s fsType:s readOnly:b secretRef:LocalObjectReference
CSIVolumeSource: driver:s readOnly:b fsType:s volumeAttributes:{}s nodePublishSecretRef:LocalObjectReference
EphemeralVolumeSource: volumeClaimTemplate:PersistentVolumeClaimTemplate
ImageVolumeSource: reference:s pullPolicy:s=PullPolicy
ConfigMapEnvSource: ...LocalObjectReference optional:b
SecretEnvSource: ...LocalObjectReference optional:b
EnvVarSource: fieldRef:ObjectFieldSelector resourceFieldRef:ResourceFieldSelector
    configMapKeyRef:ConfigMapKeySelector secretKeyRef:SecretKeySelector
ProbeHandler: exec:ExecAction httpGet:HTTPGetAction tcpSocket:TCPSocketAction grpc:GRPCAction
LifecycleHandler: exec:ExecAction httpGet:HTTPGetAction tcpSocket:TCPSocketAction sleep:SleepAction
Capabilities: add:[]s=Capability|atomic drop:[]s=Capability|atomic
NodeSelector atomic: nodeSelectorTerms:[]NodeSelectorTerm|atomic
PreferredSchedulingTerm: weight:i32 preference:NodeSelectorTerm
PodAffinityTerm: labelSelector:LabelSelector namespaces:[]s|atomic topologyKey:s namespaceSelector:LabelSelector
    matchLabelKeys:[]s|atomic mismatchLabelKeys:[]s|atomic
WeightedPodAffinityTerm: weight:i32 podAffinityTerm:PodAffinityTerm
ContainerStateWaiting: reason:s message:s
ContainerStateRunning: startedAt:t
ContainerStateTerminated: exitCode:i32 signal:i32 reason:s message:s startedAt:t finishedAt:t containerID:s
LinuxContainerUser: uid:i64 gid:i64 supplementalGroups:[]i64|atomic
ResourceHealth: resourceID:s=ResourceID health:s=ResourceHealthStatus
PortStatus: port:i32 protocol:s=Protocol error:s
VolumeResourceRequirements: limits:rl requests:rl
TypedLocalObjectReference atomic: apiGroup:s kind:s name:s
TypedObjectReference: apiGroup:s kind:s name:s namespace:s
PersistentVolumeClaimCondition: type:s=PersistentVolumeClaimConditionType status:s=ConditionStatus
    lastProbeTime:t lastTransitionTime:t reason:s message:s
ModifyVolumeStatus: targetVolumeAttributesClassName:s status:s=PersistentVolumeClaimModifyVolumeStatus
KeyToPath: key:s path:s mode:i32
DownwardAPIVolumeFile: path:s fieldRef:ObjectFieldSelector resourceFieldRef:ResourceFieldSelector mode:i32
VolumeProjection: secret:SecretProjection downwardAPI:DownwardAPIProjection configMap:ConfigMapProjection
    serviceAccountToken:ServiceAccountTokenProjection clusterTrustBundle:ClusterTrustBundleProjection
PersistentVolumeClaimTemplate: metadata:ObjectMeta spec:PersistentVolumeClaimSpec
ObjectFieldSelector atomic: apiVersion:s fieldPath:s
ResourceFieldSelector atomic: containerName:s resource:s divisor:q
ConfigMapKeySelector atomic: ...LocalObjectReference key:s optional:b
SecretKeySelector atomic: ...LocalObjectReference key:s optional:b
ExecAction: command:[]s|atomic
HTTPGetAction: path:s port:ios host:s scheme:s=URIScheme httpHeaders:[]HTTPHeader|atomic
TCPSocketAction: port:ios host:s
GRPCAction: port:i32 service:s
SleepAction: seconds:i64
NodeSelectorTerm atomic: matchExpressions:[]NodeSelectorRequirement|atomic
    matchFields:[]NodeSelectorRequirement|atomic
SecretProjection: ...LocalObjectReference items:[]KeyToPath|atomic optional:b
DownwardAPIProjection: items:[]DownwardAPIVolumeFile|atomic
ConfigMapProjection: ...LocalObjectReference items:[]KeyToPath|atomic optional:b
ServiceAccountTokenProjection: audience:s expirationSeconds:i64 path:s
ClusterTrustBundleProjection: name:s signerName:s labelSelector:LabelSelector optional:b path:s
HTTPHeader: name:s value:s
NodeSelectorRequirement: key:s operator:s=NodeSelectorOperator values:[]s|atomic

package io.k8s.api.apps.v1
Deployment kind=apps/v1/Deployment: apiVersion:s kind:s metadata:ObjectMeta spec:DeploymentSpec
    status:DeploymentStatus
ReplicaSet kind=apps/v1/ReplicaSet: apiVersion:s kind:s metadata:ObjectMeta spec:ReplicaSetSpec
    status:ReplicaSetStatus
DaemonSet kind=apps/v1/DaemonSet: apiVersion:s kind:s metadata:ObjectMeta spec:DaemonSetSpec
    status:DaemonSetStatus
StatefulSet kind=apps/v1/StatefulSet: apiVersion:s kind:s metadata:ObjectMeta spec:StatefulSetSpec
    status:StatefulSetStatus
ControllerRevision kind=apps/v1/ControllerRevision: apiVersion:s kind:s metadata:ObjectMeta data:any
    revision:i64
DeploymentSpec: replicas:i32 selector:LabelSelector template:PodTemplateSpec
    strategy:DeploymentStrategy|retainKeys minReadySeconds:i32 revisionHistoryLimit:i32 paused:b
    progressDeadlineSeconds:i32
DeploymentStatus: observedGeneration:i64 replicas:i32 updatedReplicas:i32 readyReplicas:i32
    availableReplicas:i32 unavailableReplicas:i32 conditions:[]DeploymentCondition|merge:type|map:type
    collisionCount:i32
ReplicaSetSpec: replicas:i32 minReadySeconds:i32 selector:LabelSelector template:PodTemplateSpec
ReplicaSetStatus: replicas:i32 fullyLabeledReplicas:i32 readyReplicas:i32 availableReplicas:i32
    observedGeneration:i64 conditions:[]ReplicaSetCondition|merge:type|map:type
DaemonSetSpec: selector:LabelSelector template:PodTemplateSpec updateStrategy:DaemonSetUpdateStrategy
    minReadySeconds:i32 revisionHistoryLimit:i32
DaemonSetStatus: currentNumberScheduled:i32 numberMisscheduled:i32 desiredNumberScheduled:i32 numberReady:i32
    observedGeneration:i64 updatedNumberScheduled:i32 numberAvailable:i32 numberUnavailable:i32
    collisionCount:i32 conditions:[]DaemonSetCondition|merge:type|map:type
StatefulSetSpec: replicas:i32 selector:LabelSelector template:PodTemplateSpec
    volumeClaimTemplates:[]PersistentVolumeClaim|atomic serviceName:s
    podManagementPolicy:s=PodManagementPolicyType updateStrategy:StatefulSetUpdateStrategy
    revisionHistoryLimit:i32 minReadySeconds:i32
    persistentVolumeClaimRetentionPolicy:StatefulSetPersistentVolumeClaimRetentionPolicy
    ordinals:StatefulSetOrdinals
StatefulSetStatus: observedGeneration:i64 replicas:i32 readyReplicas:i32 currentReplicas:i32 updatedReplicas:i32
    currentRevision:s updateRevision:s collisionCount:i32 conditions:[]StatefulSetCondition|merge:type|map:type
    availableReplicas:i32
DeploymentStrategy: type:s=DeploymentStrategyType rollingUpdate:RollingUpdateDeployment
DeploymentCondition: type:s=DeploymentConditionType status:s=ConditionStatus lastUpdateTime:t
    lastTransitionTime:t reason:s message:s
ReplicaSetCondition: type:s=ReplicaSetConditionType status:s=ConditionStatus lastTransitionTime:t reason:s
    message:s
DaemonSetUpdateStrategy: type:s=DaemonSetUpdateStrategyType rollingUpdate:RollingUpdateDaemonSet
DaemonSetCondition: type:s=DaemonSetConditionType status:s=ConditionStatus lastTransitionTime:t reason:s
    message:s
StatefulSetUpdateStrategy: type:s=StatefulSetUpdateStrategyType rollingUpdate:RollingUpdateStatefulSetStrategy
StatefulSetPersistentVolumeClaimRetentionPolicy: whenDeleted:s=PersistentVolumeClaimRetentionPolicyType
    whenScaled:s=PersistentVolumeClaimRetentionPolicyType
StatefulSetOrdinals: start:i32
StatefulSetCondition: type:s=StatefulSetConditionType status:s=ConditionStatus lastTransitionTime:t reason:s
    message:s
RollingUpdateDeployment: maxUnavailable:ios maxSurge:ios
RollingUpdateDaemonSet: maxUnavailable:ios maxSurge:ios
RollingUpdateStatefulSetStrategy: partition:i32 maxUnavailable:ios

package io.k8s.api.batch.v1
Job kind=batch/v1/Job: apiVersion:s kind:s metadata:ObjectMeta spec:JobSpec status:JobStatus
CronJob kind=batch/v1/CronJob: apiVersion:s kind:s metadata:ObjectMeta spec:CronJobSpec status:CronJobStatus
JobSpec: parallelism:i32 completions:i32 activeDeadlineSeconds:i64 podFailurePolicy:PodFailurePolicy
    successPolicy:SuccessPolicy backoffLimit:i32 backoffLimitPerIndex:i32 maxFailedIndexes:i32
    selector:LabelSelector manualSelector:b template:PodTemplateSpec ttlSecondsAfterFinished:i32
    completionMode:s=CompletionMode suspend:b podReplacementPolicy:s=PodReplacementPolicy managedBy:s
JobStatus: conditions:[]JobCondition|merge:type|atomic startTime:t completionTime:t active:i32 succeeded:i32
    failed:i32 terminating:i32 completedIndexes:s failedIndexes:s
    uncountedTerminatedPods:UncountedTerminatedPods ready:i32
CronJobSpec: schedule:s timeZone:s startingDeadlineSeconds:i64 concurrencyPolicy:s=ConcurrencyPolicy suspend:b
    jobTemplate:JobTemplateSpec successfulJobsHistoryLimit:i32 failedJobsHistoryLimit:i32
CronJobStatus: active:[]ObjectReference|atomic lastScheduleTime:t lastSuccessfulTime:t
PodFailurePolicy: rules:[]PodFailurePolicyRule|atomic
SuccessPolicy: rules:[]SuccessPolicyRule|atomic
JobCondition: type:s=JobConditionType status:s=ConditionStatus lastProbeTime:t lastTransitionTime:t reason:s
    message:s
UncountedTerminatedPods: succeeded:[]s=types.UID|set failed:[]s=types.UID|set
JobTemplateSpec: metadata:ObjectMeta spec:JobSpec
PodFailurePolicyRule: action:s=PodFailurePolicyAction onExitCodes:PodFailurePolicyOnExitCodesRequirement
    onPodConditions:[]PodFailurePolicyOnPodConditionsPattern|atomic
SuccessPolicyRule: succeededIndexes:s succeededCount:i32
PodFailurePolicyOnExitCodesRequirement: containerName:s operator:s=PodFailurePolicyOnExitCodesOperator
    values:[]i32|set
PodFailurePolicyOnPodConditionsPattern: type:s=PodConditionType status:s=ConditionStatus

package io.k8s.api.coordination.v1
Lease kind=coordination.k8s.io/v1/Lease: apiVersion:s kind:s metadata:ObjectMeta spec:LeaseSpec
LeaseSpec: holderIdentity:s leaseDurationSeconds:i32 acquireTime:mt renewTime:mt leaseTransitions:i32
    strategy:s=CoordinatedLeaseStrategy preferredHolder:s

package io.k8s.api.scheduling.v1
PriorityClass kind=scheduling.k8s.io/v1/PriorityClass: apiVersion:s kind:s metadata:ObjectMeta value:i32
    globalDefault:b description:s preemptionPolicy:s=v1.PreemptionPolicy

package io.k8s.api.discovery.v1
EndpointSlice kind=discovery.k8s.io/v1/EndpointSlice: apiVersion:s kind:s metadata:ObjectMeta
    addressType:s=AddressType endpoints:[]Endpoint|atomic ports:[]EndpointPort|atomic
Endpoint: addresses:[]s|set conditions:EndpointConditions hostname:s targetRef:ObjectReference
    deprecatedTopology:{}s nodeName:s zone:s hints:EndpointHints
EndpointPort atomic: name:s protocol:s=Protocol port:i32 appProtocol:s
EndpointConditions: ready:b serving:b terminating:b
EndpointHints: forZones:[]ForZone|atomic
ForZone: name:s
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
        RawType* inl = resolve(t.package, tok.substr(3));
        if (inl == nullptr) {
          problems.push_back(t.name + ": unknown inline type " + token);
          continue;
        }
        build(*inl);
        for (const auto& f : inl->type->fields) t.fields.push_back(f);
        continue;
      }
      auto parts = split(tok, '|');
      auto colon = parts[0].find(':');
      if (colon == std::string::npos) {
        problems.push_back(t.name + ": bad field " + token);
        continue;
      }
      FieldSchema f;
      f.name = parts[0].substr(0, colon);
      // Every field gets its own ValueType, so modifiers change only this field.
      ValueType* own = type_expr(std::string_view(parts[0]).substr(colon + 1), t);
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
