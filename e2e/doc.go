// Package e2e holds end-to-end tests of regionctl: the real command line
// (cli.Main, in-process) with the real drivers against the offline
// sandbox emulators on 127.0.0.1, driven exactly as a user would drive it —
// apply, plan --detailed-exitcode, edit the spec, apply again, destroy — and
// under injected cloud faults (throttling, failed async operations, lost
// replies). It has no non-test code.
package e2e
