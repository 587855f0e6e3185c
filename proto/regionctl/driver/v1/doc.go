// Package driverv1 is the Go code generated from driver.proto, version 1 of
// the protocol between regionctl and an out-of-process driver plugin. Use
// package providers/plugin rather than these types directly: it serves a
// providers.Driver over this protocol and adapts a plugin back into one.
// Regenerate with `make proto`; TestGeneratedCodeIsUpToDate fails when the
// committed code and driver.proto disagree.
package driverv1
