package spec

// Machine architectures.
const (
	ArchAMD64 = "amd64"
	ArchARM64 = "arm64"
)

// Reclaim policies of a StorageClass.
const (
	ReclaimDelete = "Delete"
	ReclaimRetain = "Retain"
)

// Load balancer port protocols.
const (
	ProtocolTCP = "TCP"
	ProtocolUDP = "UDP"
)

// Allowed values of the enumerated fields, in the order they are listed to
// a user. Validation and the JSON Schema both read them.
var (
	EndpointAccessValues = []string{EndpointPublic, EndpointPrivate, EndpointBoth}
	ArchValues           = []string{ArchAMD64, ArchARM64}
	TierValues           = []string{TierStandard, TierSSD}
	ReclaimPolicyValues  = []string{ReclaimDelete, ReclaimRetain}
	SchemeValues         = []string{SchemeExternal, SchemeInternal}
	ProtocolValues       = []string{ProtocolTCP, ProtocolUDP}
	TaintEffectValues    = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}
)

// Limits checked by Validate.
const (
	MinZones     = 1
	MaxZones     = 6
	MinCIDRBits  = 8
	MaxCIDRBits  = 24
	MaxNameLen   = 63
	MaxLabelLen  = 63
	MaxPrefixLen = 253
)

// Patterns, as regular expressions, used by Validate and the JSON Schema.
const (
	dns1123LabelPattern      = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	kubernetesVersionPattern = `^1\.[0-9]+$`
	cidrPattern              = `^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$`
	labelValuePattern        = `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
	labelKeyPattern          = `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	taintPattern             = `^[^=:]+(=[^:]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$`
	// importToPattern is a spec element or a resource address.
	importToPattern = `^((network|cluster)|cluster\.nodePools\.[a-z0-9]([-a-z0-9]*[a-z0-9])?|storageClasses\.[a-z0-9]([-a-z0-9]*[a-z0-9])?|loadBalancers\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.address)?|([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[A-Za-z0-9_]+\.[^/\s]+)$`
)

// fieldDoc describes one field for the JSON Schema and the reference docs.
type fieldDoc struct {
	desc    string
	enum    []string
	pattern string
	// minimum and maximum bound integers; nil means unbounded.
	minimum, maximum     *int
	minLength, maxLength int
	def                  any
	// keyPattern and valuePattern constrain map keys and string values.
	keyPattern, valuePattern string
	// itemPattern constrains the strings of a list.
	itemPattern string
	constant    string
	// minItems bounds lists, and non-empty maps when set to 1.
	minItems int
}

func ptr(i int) *int { return &i }

// typeDocs describes each struct type (a $defs entry of the schema).
var typeDocs = map[string]string{
	"Region":       "One region of the product on one cloud: a network, a managed Kubernetes cluster with node pools, StorageClasses and load balancers.",
	"Metadata":     "Names the region.",
	"RegionSpec":   "What the region contains.",
	"Network":      "The region's private network.",
	"Cluster":      "The managed Kubernetes cluster.",
	"NodePool":     "A group of identical nodes.",
	"Machine":      "A neutral machine size; each driver maps it onto the smallest general-purpose instance type of its catalog that meets it.",
	"StorageClass": "A Kubernetes StorageClass in the cluster.",
	"LoadBalancer": "An L4 load balancer in front of pods chosen by a selector.",
	"Port":         "Maps a load balancer port to a pod port.",
	"Import":       "An existing cloud object to bring under management (adopted into state by the next apply).",
}

// fieldDocs describes every json field of every type, keyed "Type.field".
// A test fails when a field of types.go has no entry here, so the schema
// and docs cannot silently miss a field.
var fieldDocs = map[string]fieldDoc{
	"Region.apiVersion": {desc: "Version of the spec format.", constant: APIVersion},
	"Region.kind":       {desc: "Kind of document.", constant: KindRegion},
	"Region.metadata":   {desc: "Names the region."},
	"Region.spec":       {desc: "What the region contains."},

	"Metadata.name":   {desc: "The region's DNS-1123 name (lowercase letters, digits and '-', at most 63), unique across all loaded files.", pattern: dns1123LabelPattern, maxLength: MaxNameLen},
	"Metadata.labels": {desc: "Kubernetes-style labels, copied as tags onto every cloud resource of the region.", keyPattern: labelKeyPattern, valuePattern: labelValuePattern},

	"RegionSpec.provider":       {desc: "The driver name: aws, gcp, azure or any registered driver.", minLength: 1},
	"RegionSpec.location":       {desc: "The cloud's own region name (us-east-1, europe-west4, westeurope).", minLength: 1},
	"RegionSpec.zones":          {desc: "How many availability zones to spread across; 0 or absent means 3.", minimum: ptr(0), maximum: ptr(MaxZones), def: DefaultZones},
	"RegionSpec.protect":        {desc: "Refuse destroy or replacement of stateful resources unless --allow-destroy is given.", def: false},
	"RegionSpec.network":        {desc: "The region's private network."},
	"RegionSpec.cluster":        {desc: "The managed Kubernetes cluster."},
	"RegionSpec.storageClasses": {desc: "StorageClasses to create in the cluster."},
	"RegionSpec.loadBalancers":  {desc: "L4 load balancers in front of pods."},
	"RegionSpec.overrides":      {desc: "Provider-specific escape hatch keyed by provider name; each driver validates its own entry."},

	"Network.cidr":             {desc: "IPv4 range of the whole network, e.g. 10.20.0.0/16; prefix /8 to /24, host bits zero.", pattern: cidrPattern},
	"Network.singleNatGateway": {desc: "Trade availability for cost: one NAT gateway for all zones.", def: false},

	"Cluster.kubernetesVersion": {desc: "Kubernetes minor version, e.g. \"1.33\" (quoted); the driver resolves the patch.", pattern: kubernetesVersionPattern},
	"Cluster.endpointAccess":    {desc: "Who can reach the API server endpoint.", enum: EndpointAccessValues, def: DefaultEndpointAccess},
	"Cluster.nodePools":         {desc: "Node pools; at least one.", minItems: 1},

	"NodePool.name":    {desc: "Pool name, DNS-1123, unique in the region.", pattern: dns1123LabelPattern, maxLength: MaxNameLen},
	"NodePool.machine": {desc: "Size of each node."},
	"NodePool.spot":    {desc: "Use spot/preemptible capacity.", def: false},
	"NodePool.min":     {desc: "Minimum total node count across all zones.", minimum: ptr(0)},
	"NodePool.max":     {desc: "Maximum total node count across all zones; at least 1 and at least min.", minimum: ptr(1)},
	"NodePool.labels":  {desc: "Kubernetes labels set on the nodes.", keyPattern: labelKeyPattern, valuePattern: labelValuePattern},
	"NodePool.taints":  {desc: "Taints set on the nodes, \"key=value:Effect\" or \"key:Effect\" with Effect NoSchedule, PreferNoSchedule or NoExecute.", itemPattern: taintPattern},

	"Machine.cpu":       {desc: "Minimum vCPUs per node.", minimum: ptr(1)},
	"Machine.memoryGiB": {desc: "Minimum memory per node in GiB.", minimum: ptr(1)},
	"Machine.arch":      {desc: "CPU architecture.", enum: ArchValues, def: DefaultArch},
	"Machine.gpu":       {desc: "Number of GPUs per node; 0 for none.", minimum: ptr(0), def: 0},

	"StorageClass.name":          {desc: "StorageClass name, DNS-1123, unique in the region.", pattern: dns1123LabelPattern, maxLength: MaxNameLen},
	"StorageClass.tier":          {desc: "Disk tier.", enum: TierValues},
	"StorageClass.default":       {desc: "Make this the cluster's default StorageClass; at most one may be.", def: false},
	"StorageClass.reclaimPolicy": {desc: "What happens to a volume when its claim is deleted.", enum: ReclaimPolicyValues, def: DefaultReclaimPolicy},
	"StorageClass.expandable":    {desc: "Allow volumes to be expanded.", def: false},

	"LoadBalancer.name":     {desc: "Load balancer name, DNS-1123, unique in the region.", pattern: dns1123LabelPattern, maxLength: MaxNameLen},
	"LoadBalancer.scheme":   {desc: "external (internet-facing) or internal (private network only).", enum: SchemeValues},
	"LoadBalancer.ports":    {desc: "Ports; at least one, each port/protocol pair once.", minItems: 1},
	"LoadBalancer.selector": {desc: "Labels choosing the pods behind the load balancer; not empty.", keyPattern: labelKeyPattern, valuePattern: labelValuePattern, minItems: 1},

	"Port.port":       {desc: "Port the load balancer listens on.", minimum: ptr(1), maximum: ptr(65535)},
	"Port.targetPort": {desc: "Pod port traffic goes to; 0 or absent means the same as port.", minimum: ptr(0), maximum: ptr(65535)},
	"Port.protocol":   {desc: "Transport protocol.", enum: ProtocolValues, def: DefaultProtocol},

	"RegionSpec.import": {desc: "Existing cloud objects to bring under management: plan shows each as an import, apply adopts it into state."},
	"Import.to":         {desc: "Where the object goes: a spec element (network, cluster, cluster.nodePools.NAME, storageClasses.NAME, loadBalancers.NAME, loadBalancers.NAME.address) or a resource address of the region (REGION/TYPE.NAME or TYPE.NAME).", pattern: importToPattern},
	"Import.id":         {desc: "The cloud's identifier of the object (a VPC ID, a cluster name or ARN, a GCP resource name or path, an ARM resource ID).", minLength: 1},
}
