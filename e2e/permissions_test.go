package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/sandbox"
)

// permissionsBlock is the fenced list of actions under "## Permissions"
// in a provider doc.
var permissionsBlock = regexp.MustCompile("(?s)## Permissions\n.*?```text\n(.*?)```")

// documentedPermissions reads the action list of docs/providers/NAME.md.
func documentedPermissions(t *testing.T, name string) []string {
	t.Helper()
	path := filepath.Join("..", "docs", "providers", name+".md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := permissionsBlock.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("%s has no ## Permissions section with a ```text block", path)
	}
	var out []string
	for _, l := range strings.Split(string(m[1]), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// needsNoPermission are calls every principal may make.
var needsNoPermission = map[string]bool{"sts:GetCallerIdentity": true}

// TestAWSPermissions derives the IAM actions the AWS driver needs from the
// sandbox's request log (sandbox.RequestsFile) over a lifecycle that uses
// every AWS feature — a cluster with node groups (one with its own disk
// size), StorageClasses and load balancers, access entries, workload
// identity, a refresh, in-place updates (a pool's size, endpoint access, a
// minor upgrade), removing an access entry and the OIDC provider, and
// destroy — and checks the list in docs/providers/aws.md is exactly that,
// so the documentation cannot drift from what the driver calls.
func TestAWSPermissions(t *testing.T) {
	e := newKubeEnv(t)
	e.editSpec("    endpointAccess: both\n", "    endpointAccess: both\n    workloadIdentity: true\n")
	e.editSpec("      - name: ingest\n", "        disk: {sizeGiB: 100}\n      - name: ingest\n")
	e.editSpec("  storageClasses:", "  access:\n    admins: [\"arn:aws:iam::999999999999:role/ops\"]\n    viewers: [\"arn:aws:iam::999999999999:user/auditor\"]\n  storageClasses:")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	// In place: a pool's size, the endpoint access, then a minor upgrade.
	e.editSpec("        max: 30\n", "        max: 40\n")
	e.editSpec("    endpointAccess: both\n", "    endpointAccess: public\n")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.editSpec(`kubernetesVersion: "1.33"`, `kubernetesVersion: "1.34"`)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.editSpec("    workloadIdentity: true\n", "")
	e.editSpec("admins: [\"arn:aws:iam::999999999999:role/ops\"]", "admins: []")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()

	e.checkPermissions("aws", func(op string) string {
		if needsNoPermission[op] {
			return ""
		}
		return op // the sandbox names AWS operations as IAM names their actions
	})
}

// checkPermissions maps each operation of its request
// log to the permission it needs ("" for none) and checks the list in
// docs/providers/DOC.md is exactly those permissions, sorted.
func (e *env) checkPermissions(doc string, permission func(op string) string) {
	t := e.t
	t.Helper()
	reqs := e.requests() // what sandbox.RequestsFile holds once a daemon stops
	seen := map[string]bool{}
	for op := range reqs {
		if p := permission(op); p != "" {
			seen[p] = true
		}
	}
	var used []string
	for p := range seen {
		used = append(used, p)
	}
	sort.Strings(used)
	listed := documentedPermissions(t, doc)
	var missing, stale []string
	for _, a := range used {
		if !slices.Contains(listed, a) {
			missing = append(missing, a)
		}
	}
	for _, a := range listed {
		if !slices.Contains(used, a) {
			stale = append(stale, a)
		}
	}
	if len(missing) > 0 || len(stale) > 0 || !slices.IsSorted(listed) {
		t.Errorf("docs/providers/%s.md ## Permissions is not what the driver calls (keep it sorted):\nadd: %v\nremove: %v\nthe whole list:\n%s\nthe operations: %v",
			doc, missing, stale, strings.Join(used, "\n"), reqs)
	}
}

// TestGCPPermissions: as TestAWSPermissions, for the GCP driver over a
// lifecycle with a GKE cluster, node pools, StorageClasses, load
// balancers and spec.access (the project's IAM policy): create, refresh,
// in-place updates (a pool's size, a minor upgrade), destroy. Each
// operation maps onto the IAM permission Google documents for it.
func TestGCPPermissions(t *testing.T) {
	e := newGCPEnv(t, sandbox.Options{}, true)
	e.editSpec("  storageClasses:", "  access:\n    admins: [\"user:alice@example.com\"]\n  storageClasses:")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.editSpec("        max: 30", "        max: 33")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.editSpec(`kubernetesVersion: "1.33"`, `kubernetesVersion: "1.34"`)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
	e.checkPermissions("gcp", gcpPermission)
}

// gcpPermission is the IAM permission a GCP operation of the sandbox's
// request log needs: Compute's REST methods (compute:networks.insert is
// compute.networks.create), GKE's RPCs (container:CreateNodePool is
// container.clusters.update: node pools have no permissions of their
// own); "" for token exchange and discovery, which need none.
func gcpPermission(op string) string {
	svc, method, _ := strings.Cut(op, ":")
	switch svc {
	case "compute":
		res, verb, ok := strings.Cut(method, ".")
		if !ok {
			return "compute." + method
		}
		switch verb {
		case "insert":
			verb = "create"
		case "patch":
			verb = "update"
		case "aggregatedList":
			verb = "list"
		}
		return "compute." + res + "." + verb
	case "cloudresourcemanager": // projects.getIamPolicy
		return "resourcemanager." + method
	case "container":
		switch {
		case strings.HasSuffix(method, "Operation"), strings.HasSuffix(method, "Operations"):
			return "container.operations.get"
		case method == "GetCluster", method == "GetNodePool", method == "ListNodePools", method == "GetServerConfig":
			return "container.clusters.get"
		case method == "ListClusters":
			return "container.clusters.list"
		case method == "CreateCluster":
			return "container.clusters.create"
		case method == "DeleteCluster":
			return "container.clusters.delete"
		default: // node pools, versions, settings
			return "container.clusters.update"
		}
	}
	return ""
}

// TestAzurePermissions: as TestAWSPermissions, for the Azure driver over a
// lifecycle with an AKS cluster, agent pools, load balancers and access
// (role assignments at the cluster's scope): create,
// refresh, an in-place update of a pool's size, destroy. Each ARM
// operation maps onto the action Azure RBAC names for it.
func TestAzurePermissions(t *testing.T) {
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{}, false)
	e.editSpec("          - workload=ingest:NoSchedule\n", "          - workload=ingest:NoSchedule\n  access:\n    admins: [\"group:5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f\"]\n")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.editSpec("        max: 10\n", "        max: 12\n")
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.destroyToEmpty("staging-westeurope", false)
	e.checkPermissions("azure", azurePermission)
}

// azureTypes is the RBAC resource type of each ARM resource type the
// sandbox names operations by.
var azureTypes = map[string]string{
	"resourceGroups":    "Microsoft.Resources/subscriptions/resourceGroups",
	"virtualNetworks":   "Microsoft.Network/virtualNetworks",
	"subnets":           "Microsoft.Network/virtualNetworks/subnets",
	"publicIPAddresses": "Microsoft.Network/publicIPAddresses",
	"managedClusters":   "Microsoft.ContainerService/managedClusters",
	"agentPools":        "Microsoft.ContainerService/managedClusters/agentPools",
	"roleAssignments":   "Microsoft.Authorization/roleAssignments",
}

// azurePermission is the Azure RBAC action an ARM operation of the
// sandbox's request log needs: createOrUpdate is write, get and list are
// read, POST actions are TYPE/ACTION/action. Polling a long-running
// operation and token exchange map to "" (docs/providers/azure.md lists
// what they need); an ARM type not in azureTypes maps to an entry the
// doc cannot have, so the test names it.
func azurePermission(op string) string {
	svc, method, _ := strings.Cut(op, ":")
	if svc != "azure" {
		return ""
	}
	typ, verb, _ := strings.Cut(method, ".")
	if typ == "asyncOperations" || typ == "operationResults" {
		return ""
	}
	rbac, ok := azureTypes[typ]
	if !ok {
		return "unmapped ARM type " + typ + " (add it to azureTypes)"
	}
	switch verb {
	case "createOrUpdate":
		return rbac + "/write"
	case "delete":
		return rbac + "/delete"
	case "get", "list", "listAll":
		return rbac + "/read"
	case "listClusterUserCredentials":
		return rbac + "/listClusterUserCredential/action"
	}
	return rbac + "/" + verb + "/action"
}
