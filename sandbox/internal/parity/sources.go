package parity

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Script provides the service descriptions that are not in the module
// cache (botocore's models, the Azure models from npm packages and Debian's
// python3-azure) and writes where they are to its env file.
const Script = "scripts/service-models.sh"

// The variables Script writes; set in the environment they win.
const (
	EnvBotocoreData    = "REGIONCTL_BOTOCORE_DATA"
	EnvBotocoreVersion = "REGIONCTL_BOTOCORE_VERSION"
	EnvAzureModels     = "REGIONCTL_AZURE_MODELS"
)

var (
	sourcesOnce sync.Once
	sources     map[string]string
	sourcesErr  string
)

// Sources returns the locations Script provides (the Env* names), from the
// environment, else from Script's env file, else by running Script (it is
// cached and idempotent; make test runs it first). A source that cannot be
// had fails t; with -short, a missing cache skips t instead of running
// Script (which may install packages), as the tests needing other peers do.
func Sources(t testing.TB) map[string]string {
	t.Helper()
	if testing.Short() && readSources() == nil {
		t.Skipf("-short: the parity suite's service descriptions are not cached; run %s", Script)
	}
	sourcesOnce.Do(func() {
		if s := readSources(); s != nil {
			sources = s
			return
		}
		root, err := repoRoot()
		if err != nil {
			sourcesErr = err.Error()
			return
		}
		cmd := exec.Command(filepath.Join(root, Script))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			sourcesErr = Script + ": " + err.Error() + "\n" + stderr.String()
			return
		}
		if sources = readSources(); sources == nil {
			sourcesErr = Script + " ran but its env file does not name existing directories"
		}
	})
	if sources == nil {
		t.Fatalf("the parity suite's service descriptions are missing: %s", sourcesErr)
	}
	return sources
}

func envFile() string {
	cache := os.Getenv("REGIONCTL_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "regionctl")
	}
	return filepath.Join(cache, "service-models", "env")
}

// readSources reads the environment and Script's env file; nil unless both
// directories exist.
func readSources() map[string]string {
	s := map[string]string{}
	if f, err := os.Open(envFile()); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				s[k] = v
			}
		}
		f.Close()
	}
	for _, k := range []string{EnvBotocoreData, EnvBotocoreVersion, EnvAzureModels} {
		if v := os.Getenv(k); v != "" {
			s[k] = v
		}
	}
	for _, k := range []string{EnvBotocoreData, EnvAzureModels} {
		if st, err := os.Stat(s[k]); err != nil || !st.IsDir() {
			return nil
		}
	}
	return s
}

// repoRoot is the directory above the working directory that holds Script.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, Script)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// AWSModels loads botocore's models of the services the AWS emulator
// serves.
func AWSModels(t testing.TB) *Botocore {
	t.Helper()
	s := Sources(t)
	b, err := LoadBotocore(s[EnvBotocoreData], "botocore "+s[EnvBotocoreVersion], "ec2", "iam", "sts", "eks")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
