package e2e

import (
	"encoding/json"
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
	e.stopSandbox()

	data, err := os.ReadFile(filepath.Join(e.sbDir, sandbox.RequestsFile))
	if err != nil {
		t.Fatal(err)
	}
	var reqs map[string]int
	if err := json.Unmarshal(data, &reqs); err != nil {
		t.Fatal(err)
	}
	var used []string
	for op := range reqs {
		if !needsNoPermission[op] {
			used = append(used, op)
		}
	}
	sort.Strings(used)
	doc := documentedPermissions(t, "aws")
	var missing, stale []string
	for _, a := range used {
		if !slices.Contains(doc, a) {
			missing = append(missing, a)
		}
	}
	for _, a := range doc {
		if !slices.Contains(used, a) {
			stale = append(stale, a)
		}
	}
	if len(missing) > 0 || len(stale) > 0 || !slices.IsSorted(doc) {
		t.Errorf("docs/providers/aws.md ## Permissions is not what the driver calls (keep it sorted):\nadd: %v\nremove: %v\nthe whole list:\n%s",
			missing, stale, strings.Join(used, "\n"))
	}
}
