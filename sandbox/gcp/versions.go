package gcp

import (
	"fmt"
	"strconv"
	"strings"

	"cloud.google.com/go/container/apiv1/containerpb"
)

// gkeVersions are the versions every location offers, newest first.
var gkeVersions = []string{
	"1.34.1-gke.1829001", "1.34.0-gke.2201000",
	"1.33.5-gke.1308000", "1.33.4-gke.1350000",
	"1.32.9-gke.1108000", "1.32.8-gke.1134000",
	"1.31.13-gke.1023000", "1.31.12-gke.1265000",
}

// defaultVersion is the default for clusters outside a release channel.
const defaultVersion = "1.33.5-gke.1308000"

// channelMinors are the minors each release channel offers, newest first;
// the first one's newest version is the channel default.
var channelMinors = map[containerpb.ReleaseChannel_Channel][]int{
	containerpb.ReleaseChannel_RAPID:    {34, 33},
	containerpb.ReleaseChannel_REGULAR:  {33, 32},
	containerpb.ReleaseChannel_STABLE:   {32, 31},
	containerpb.ReleaseChannel_EXTENDED: {32, 31},
}

// gkeVersion is a parsed "1.MINOR.PATCH-gke.BUILD".
type gkeVersion struct{ minor, patch, build int }

func parseVersion(v string) (gkeVersion, bool) {
	rest, ok := strings.CutPrefix(v, "1.")
	if !ok {
		return gkeVersion{}, false
	}
	var out gkeVersion
	mp, build, hasBuild := strings.Cut(rest, "-gke.")
	parts := strings.Split(mp, ".")
	var err error
	if out.minor, err = strconv.Atoi(parts[0]); err != nil {
		return gkeVersion{}, false
	}
	out.patch, out.build = -1, -1
	if len(parts) > 1 {
		if out.patch, err = strconv.Atoi(parts[1]); err != nil {
			return gkeVersion{}, false
		}
	}
	if hasBuild {
		if out.build, err = strconv.Atoi(build); err != nil {
			return gkeVersion{}, false
		}
	}
	return out, len(parts) <= 2
}

func minorOf(v string) int {
	p, _ := parseVersion(v)
	return p.minor
}

// channelVersions are the versions valid in a channel (all of them when
// the cluster is in no channel).
func channelVersions(ch containerpb.ReleaseChannel_Channel) []string {
	minors, ok := channelMinors[ch]
	if !ok {
		return gkeVersions
	}
	var out []string
	for _, v := range gkeVersions {
		for _, m := range minors {
			if minorOf(v) == m {
				out = append(out, v)
			}
		}
	}
	return out
}

func channelDefault(ch containerpb.ReleaseChannel_Channel) string {
	if _, ok := channelMinors[ch]; !ok {
		return defaultVersion
	}
	return channelVersions(ch)[0]
}

// resolveVersion resolves a requested version — "", "-", "latest", "1.33",
// "1.33.5" or an exact "1.33.5-gke.1308000" — against the channel's valid
// versions, as GKE resolves version aliases.
func resolveVersion(want string, ch containerpb.ReleaseChannel_Channel) (string, error) {
	valid := channelVersions(ch)
	switch want {
	case "", "-":
		return channelDefault(ch), nil
	case "latest":
		return valid[0], nil
	}
	w, ok := parseVersion(want)
	if ok {
		for _, v := range valid { // newest first: the first match is the newest
			p, _ := parseVersion(v)
			if p.minor == w.minor && (w.patch < 0 || p.patch == w.patch) && (w.build < 0 || p.build == w.build) {
				return v, nil
			}
		}
	}
	where := "this location"
	if _, in := channelMinors[ch]; in {
		where = "the " + ch.String() + " release channel"
	}
	return "", fmt.Errorf("version %q is unsupported in %s; valid versions: %s (or an alias: latest, 1.MINOR, -)", want, where, strings.Join(valid, ", "))
}

func serverConfig() *containerpb.ServerConfig {
	cfg := &containerpb.ServerConfig{
		DefaultClusterVersion: defaultVersion,
		ValidMasterVersions:   append([]string(nil), gkeVersions...),
		ValidNodeVersions:     append([]string(nil), gkeVersions...),
		DefaultImageType:      "COS_CONTAINERD",
		ValidImageTypes:       []string{"COS_CONTAINERD", "UBUNTU_CONTAINERD", imageWindows},
	}
	for _, ch := range []containerpb.ReleaseChannel_Channel{containerpb.ReleaseChannel_RAPID, containerpb.ReleaseChannel_REGULAR, containerpb.ReleaseChannel_STABLE, containerpb.ReleaseChannel_EXTENDED} {
		cfg.Channels = append(cfg.Channels, &containerpb.ServerConfig_ReleaseChannelConfig{
			Channel: ch, DefaultVersion: channelDefault(ch), ValidVersions: channelVersions(ch),
		})
	}
	return cfg
}
