package driverv1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsUpToDate runs the pinned generators (scripts/proto.sh
// tools: Debian's protoc, protoc-gen-go and protoc-gen-go-grpc at the
// versions the script names) over driver.proto into a temporary folder and
// compares the result with the committed *.pb.go files byte for byte. When
// it fails, run `make proto` and commit the result.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs protoc and the Go generators (scripts/proto.sh tools)")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "proto.sh"), "tools").Output()
	if err != nil {
		t.Fatalf("scripts/proto.sh tools: %v", err)
	}
	tools := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		tools[k] = v
	}
	tmp := t.TempDir()
	cmd := exec.Command(tools["PROTOC"], "-I", filepath.Join(root, "proto"),
		"--plugin=protoc-gen-go="+tools["PROTOC_GEN_GO"], "--go_out="+tmp, "--go_opt=paths=source_relative",
		"--plugin=protoc-gen-go-grpc="+tools["PROTOC_GEN_GO_GRPC"], "--go-grpc_out="+tmp, "--go-grpc_opt=paths=source_relative",
		filepath.Join(root, "proto", "regionctl", "driver", "v1", "driver.proto"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	for _, name := range []string{"driver.pb.go", "driver_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(tmp, "regionctl", "driver", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what driver.proto generates: run `make proto` and commit the result", name)
		}
	}
}
