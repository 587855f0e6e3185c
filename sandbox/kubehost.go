package sandbox

import "github.com/regionctl/regionctl/sandbox/kube"

// Kube returns the manager of the emulated clusters' Kubernetes API servers,
// or nil when the sandbox was started with NoKubernetes. Tests use it to wait
// for an API server or to check that one was stopped.
func (s *Sandbox) Kube() *kube.Manager { return s.kube }
