package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestReleaseArchivesAndImage runs scripts/release.sh for the platform the
// test runs on (make release builds all four: linux/darwin × amd64/arm64)
// and checks what a user downloads: the archive holds a binary that says
// its version, was built with -trimpath and -s -w and without cgo, and
// checksums.txt verifies it. The Dockerfile's COPY source, for linux on
// this machine's architecture, is a file the release produced.
func TestReleaseArchivesAndImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds regionctl")
	}
	const version = "v0.0.0-releasetest"
	dist := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	platform := "linux/" + runtime.GOARCH
	cmd := exec.Command("../scripts/release.sh")
	cmd.Env = append(os.Environ(), "VERSION="+version, "DIST="+dist, "PLATFORMS="+platform, "GO="+goBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}

	archive := "regionctl_" + version + "_linux_" + runtime.GOARCH + ".tar.gz"
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dist, archive))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]) + "  " + archive; !strings.Contains(string(sums), want) {
		t.Errorf("checksums.txt does not verify %s:\n%s\nwant line %q", archive, sums, want)
	}
	names := tarNames(t, filepath.Join(dist, archive))
	for _, want := range []string{"regionctl", "README.md"} {
		if !names[want] {
			t.Errorf("%s has no %s (has %v)", archive, want, names)
		}
	}

	bin := filepath.Join(dist, "regionctl_linux_"+runtime.GOARCH, "regionctl")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "regionctl "+version+" ") {
		t.Errorf("regionctl version: %v\n%s", err, out)
	}
	meta, err := exec.Command(goBin, "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, meta)
	}
	for _, want := range []string{"-trimpath=true", "CGO_ENABLED=0"} {
		if !strings.Contains(string(meta), want) {
			t.Errorf("the release binary was not built with %s:\n%s", want, meta)
		}
	}
	// -s -w: no symbol table, no DWARF (with -trimpath, Go does not record
	// -ldflags in the build info, so look at the ELF itself).
	exe, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	for _, sec := range []string{".symtab", ".debug_info"} {
		if exe.Section(sec) != nil {
			t.Errorf("the release binary has a %s section: not stripped (-ldflags -s -w)", sec)
		}
	}
	if strings.Contains(string(meta), "/work/") || strings.Contains(string(meta), os.Getenv("HOME")+"/") {
		t.Errorf("build paths leak into the binary:\n%s", meta)
	}

	src := dockerCopySource(t, "../Dockerfile", map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH})
	rel, ok := strings.CutPrefix(src, "dist/")
	if !ok {
		t.Fatalf("the Dockerfile copies %s, not from the release's dist/", src)
	}
	if _, err := os.Stat(filepath.Join(dist, rel)); err != nil {
		t.Errorf("the Dockerfile copies %s, which the release does not produce: %v", src, err)
	}
}

func tarNames(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
}

var argRE = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// dockerCopySource reads a Dockerfile, checks it has one FROM and one COPY
// of the binary to the path ENTRYPOINT runs, and returns the COPY's source
// with its build arguments (ARG defaults, then args) substituted.
func dockerCopySource(t *testing.T, path string, args map[string]string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	var from, copySrc, copyDst, entrypoint string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			from = rest
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			vars[k] = v
		case "COPY":
			f := strings.Fields(rest)
			if len(f) != 2 || copySrc != "" {
				t.Fatalf("want one COPY SRC DST, got %q", line)
			}
			copySrc, copyDst = f[0], f[1]
		case "ENTRYPOINT":
			entrypoint = rest
		}
	}
	for k, v := range args {
		vars[k] = v
	}
	if !strings.HasPrefix(from, "gcr.io/distroless/") {
		t.Errorf("the image is not based on distroless: FROM %s", from)
	}
	if !strings.Contains(entrypoint, `"`+copyDst+`"`) {
		t.Errorf("ENTRYPOINT %s does not run the copied binary %s", entrypoint, copyDst)
	}
	return argRE.ReplaceAllStringFunc(copySrc, func(m string) string {
		name := strings.Trim(m, "${}")
		v, ok := vars[name]
		if !ok {
			t.Errorf("COPY uses $%s, which no ARG defines", name)
		}
		return v
	})
}
