package kube_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// requireBinaries fails (never skips, except under -short) when the
// binaries of scripts/kube-apiserver.sh are missing: CI must run them.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
}

func client(t testing.TB, c emu.KubeCluster, token string) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: c.Endpoint, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM}})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestAPIServerLifecycle starts a real kube-apiserver over etcd, talks to
// it with a token the cluster's authenticator accepts (and one it rejects),
// restarts it from its directory with its data and endpoint intact, then
// removes it and its data.
func TestAPIServerLifecycle(t *testing.T) {
	requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	auth := func(token string) (emu.KubeUser, error) {
		if token != "good-token" {
			return emu.KubeUser{}, errors.New("unknown token")
		}
		return emu.KubeUser{Name: "admin", Groups: []string{"system:masters"}}, nil
	}
	bootstraps := 0
	boot := func(ctx context.Context, cs kubernetes.Interface) error {
		bootstraps++
		_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "from-the-cloud"}}, metav1.CreateOptions{})
		return err
	}
	const id = "test-cluster"

	m := kube.New(kube.Options{Dir: dir})
	info, err := m.Ensure(id, kube.Spec{Auth: auth, Bootstrap: boot})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if !strings.HasPrefix(info.Endpoint, "https://127.0.0.1:") || !strings.Contains(string(info.CAPEM), "BEGIN CERTIFICATE") {
		t.Fatalf("Ensure = %+v", info)
	}
	if err := m.Wait(ctx, id); err != nil {
		t.Fatalf("API server did not become ready: %v", err)
	}
	t.Logf("first start: ready after %s", m.ReadyAfter(id))
	if st := m.State(id); !st.Ready || st.Err != nil {
		t.Fatalf("State = %+v", st)
	}
	good := client(t, info, "good-token")
	if _, err := good.CoreV1().ConfigMaps("default").Get(ctx, "from-the-cloud", metav1.GetOptions{}); err != nil {
		t.Fatalf("bootstrap object: %v", err)
	}
	if _, err := good.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create with an accepted token: %v", err)
	}
	_, err = client(t, info, "bad-token").CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("list with a rejected token = %v, want 401 Unauthorized", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := good.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		t.Errorf("API server still answers after Close")
	}

	// A new manager on the same directory: same endpoint, same CA, same data.
	m2 := kube.New(kube.Options{Dir: dir})
	defer m2.Close()
	info2, err := m2.Ensure(id, kube.Spec{Auth: auth, Bootstrap: boot})
	if err != nil {
		t.Fatal(err)
	}
	if info2.Endpoint != info.Endpoint || string(info2.CAPEM) != string(info.CAPEM) {
		t.Errorf("after restart: %s, want the same endpoint %s and CA", info2.Endpoint, info.Endpoint)
	}
	if err := m2.Wait(ctx, id); err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("restart: ready after %s", m2.ReadyAfter(id))
	if _, err := good.CoreV1().ConfigMaps("default").Get(ctx, "mine", metav1.GetOptions{}); err != nil {
		t.Errorf("object after restart: %v", err)
	}
	if bootstraps != 1 {
		t.Errorf("bootstrap ran %d times, want once in the cluster's life", bootstraps)
	}
	if n, err := m2.KeysUnder(ctx, id); err != nil || n == 0 {
		t.Fatalf("etcd keys under the cluster's prefix = %d, %v", n, err)
	}

	if err := m2.Remove(id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if n, err := m2.KeysUnder(ctx, id); err != nil || n != 0 {
		t.Errorf("etcd keys after Remove = %d, %v; want 0", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "clusters", id)); !os.IsNotExist(err) {
		t.Errorf("cluster directory after Remove: %v", err)
	}
	if got := m2.Running(); len(got) != 0 {
		t.Errorf("running after Remove: %v", got)
	}
	if _, err := good.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		t.Errorf("API server still answers after Remove")
	}
}

// TestMissingBinaries: without the binaries every hook fails with an error
// that names the script.
func TestMissingBinaries(t *testing.T) {
	m := kube.New(kube.Options{Dir: t.TempDir(), Binaries: kube.Binaries{APIServer: "/nonexistent/kube-apiserver", Etcd: "/nonexistent/etcd"}})
	defer m.Close()
	for name, err := range map[string]error{
		"Check": m.Check(),
		"Ensure": func() error {
			_, err := m.Ensure("c1", kube.Spec{})
			return err
		}(),
	} {
		if err == nil || !strings.Contains(err.Error(), kube.Script) {
			t.Errorf("%s = %v, want an error naming %s", name, err, kube.Script)
		}
	}
}

func TestFindBinariesNamesTheScript(t *testing.T) {
	t.Setenv(kube.EnvCache, t.TempDir())
	t.Setenv(kube.EnvAPIServer, "/nonexistent/kube-apiserver")
	t.Setenv(kube.EnvEtcd, "/nonexistent/etcd")
	_, err := kube.FindBinaries()
	if err == nil || !strings.Contains(err.Error(), kube.Script) || !strings.Contains(err.Error(), "/nonexistent/kube-apiserver") {
		t.Errorf("FindBinaries = %v, want an error naming the path and %s", err, kube.Script)
	}
}

// TestManagerFindsBinariesBuiltLater: a sandbox started before
// scripts/kube-apiserver.sh ran (its error says to run the script) picks
// the binaries up once they exist, without a restart.
func TestManagerFindsBinariesBuiltLater(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv(kube.EnvCache, t.TempDir())
	for _, env := range []string{kube.EnvAPIServer, kube.EnvControllerManager, kube.EnvScheduler, kube.EnvEtcd, kube.EnvKwok, kube.EnvKwokConfig} {
		t.Setenv(env, filepath.Join(dir, "missing", env))
	}
	m := kube.New(kube.Options{Dir: t.TempDir()})
	defer m.Close()
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), kube.Script) {
		t.Fatalf("Check before the build = %v, want an error naming %s", err, kube.Script)
	}
	t.Setenv(kube.EnvAPIServer, exe("kube-apiserver"))
	t.Setenv(kube.EnvControllerManager, exe("kube-controller-manager"))
	t.Setenv(kube.EnvScheduler, exe("kube-scheduler"))
	t.Setenv(kube.EnvEtcd, exe("etcd"))
	t.Setenv(kube.EnvKwok, exe("kwok"))
	t.Setenv(kube.EnvKwokConfig, exe("stages.yaml"))
	if err := m.Check(); err != nil {
		t.Fatalf("Check after the build = %v, want nil", err)
	}
}
