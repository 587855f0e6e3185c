package kube_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/sandbox/kube"
)

// rssMiB is the resident set of process pid in MiB: all of it (VmRSS),
// and its anonymous part (RssAnon), what each more cluster costs (the
// binaries' file-backed pages are shared by every cluster's processes).
func rssMiB(pid int) (all, anon float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			all = kb / 1024
		case "RssAnon":
			anon = kb / 1024
		}
	}
	return all, anon
}

// cpuSeconds is the CPU time process pid has used (user and system).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may hold spaces: state is
	// the first, utime and stime the 12th and 13th.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks; USER_HZ is 100 on Linux
}

// BenchmarkClusterCost measures what one emulated cluster costs: how long
// its API server takes to be ready, how long three nodes take to be Ready
// once a pool asks for them (starting the controllers and kwok), and the
// resident memory of each process once they are. Run it with
//
//	go test ./sandbox/kube -run '^$' -bench ClusterCost -benchtime 1x
//
// Figures are recorded in docs/performance.md.
func BenchmarkClusterCost(b *testing.B) {
	if _, err := kube.FindBinaries(); err != nil {
		b.Skip(err)
	}
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		m := kube.New(kube.Options{Dir: b.TempDir()})
		id := "bench-" + strconv.Itoa(i)
		began := time.Now()
		info, err := m.Ensure(id, kube.Spec{Auth: adminAuth, Version: "1.33", ServiceCIDR: "10.100.0.0/16"})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
		apiReady := time.Since(began)
		apiOnly, apiOnlyAnon := rssMiB(m.Processes(id)["kube-apiserver"])
		began = time.Now()
		if err := m.SetNodePool(id, "pool", pool("pool", 3, nil)); err != nil {
			b.Fatal(err)
		}
		cs := client(b, info, "admin-token")
		if _, err := kube.ReadyNodes(ctx, cs, "", 3); err != nil {
			b.Fatal(err)
		}
		nodesReady := time.Since(began)
		if err := m.WaitNodes(ctx, id); err != nil {
			b.Fatal(err)
		}
		nodesSynced := time.Since(began)
		if _, err := kube.RunPod(ctx, cs, "probe", nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(apiReady.Seconds(), "apiserver-ready-s")
		b.ReportMetric(nodesReady.Seconds(), "3-nodes-ready-s")
		b.ReportMetric(nodesSynced.Seconds(), "3-nodes-schedulable-s")
		b.ReportMetric(apiOnly, "apiserver-alone-rss-MiB")
		b.ReportMetric(apiOnlyAnon, "apiserver-alone-anon-MiB")
		var total, totalAnon float64
		for name, pid := range m.Processes(id) {
			all, anon := rssMiB(pid)
			total += all
			totalAnon += anon
			b.ReportMetric(all, name+"-rss-MiB")
			b.ReportMetric(anon, name+"-anon-MiB")
			b.ReportMetric(cpuSeconds(pid), name+"-cpu-s")
		}
		b.ReportMetric(total, "with-nodes-rss-MiB")
		b.ReportMetric(totalAnon, "with-nodes-anon-MiB")
		if err := m.Remove(id); err != nil {
			b.Fatal(err)
		}
		m.Close()
		cancel()
	}
}
