// Package release holds the checks of regionctl's release tooling
// (scripts/release.sh, `make release`, the Dockerfile): the archives build
// with a stamped, trimmed, stripped binary, the checksums verify, and the
// image copies a binary the release actually produces. It has no non-test
// code.
package release
