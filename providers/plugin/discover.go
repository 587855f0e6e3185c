package plugin

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Dir is a folder searched for driver plugins, and why it is searched.
type Dir struct {
	Path string
	// Origin says where the folder comes from: "--plugin-dir",
	// "REGIONCTL_PLUGIN_DIR", "project" (./.regionctl/plugins), "user"
	// (~/.regionctl/plugins) or "PATH".
	Origin string
}

// The folders searched besides the explicit ones.
const (
	// ProjectDir is relative to the current directory.
	ProjectDir = ".regionctl/plugins"
	// UserDir is relative to the home directory.
	UserDir = ".regionctl/plugins"
	// DirEnv lists extra plugin folders, separated like PATH.
	DirEnv = "REGIONCTL_PLUGIN_DIR"
)

// SearchDirs returns the folders searched for plugins, in order of
// precedence (the first regionctl-driver-NAME found for a NAME wins):
//
//  1. each --plugin-dir given (flagDirs), in order;
//  2. each folder of $REGIONCTL_PLUGIN_DIR (separated like PATH);
//  3. ./.regionctl/plugins, the project's own;
//  4. ~/.regionctl/plugins, the user's;
//  5. every folder of $PATH.
//
// getenv reads the environment (REGIONCTL_PLUGIN_DIR, HOME, PATH).
func SearchDirs(flagDirs []string, getenv func(string) string) []Dir {
	var dirs []Dir
	for _, d := range flagDirs {
		dirs = append(dirs, Dir{Path: d, Origin: "--plugin-dir"})
	}
	for _, d := range filepath.SplitList(getenv(DirEnv)) {
		dirs = append(dirs, Dir{Path: d, Origin: DirEnv})
	}
	dirs = append(dirs, Dir{Path: ProjectDir, Origin: "project"})
	if home := getenv("HOME"); home != "" {
		dirs = append(dirs, Dir{Path: filepath.Join(home, UserDir), Origin: "user"})
	}
	for _, d := range filepath.SplitList(getenv("PATH")) {
		dirs = append(dirs, Dir{Path: d, Origin: "PATH"})
	}
	return dirs
}

// namePattern is what NAME in regionctl-driver-NAME may be: a driver name
// as a spec's provider field names it.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Found is a plugin Discover found, and where.
type Found struct {
	Plugin
	// Origin is the Origin of the folder it was found in.
	Origin string
	// Shadowed lists executables of the same name found later in the
	// search, which are not used.
	Shadowed []string
}

// Discover lists the driver plugins in dirs: executable files named
// regionctl-driver-NAME, the first of each NAME in dirs' order, sorted by
// name. Folders that do not exist, and files that are not executable or
// whose NAME is not a driver name, are skipped. Relative folders are made
// absolute, so a plugin's Path works from anywhere.
func Discover(dirs []Dir) []Found {
	byName := map[string]*Found{}
	var names []string
	for _, d := range dirs {
		if d.Path == "" {
			continue
		}
		abs, err := filepath.Abs(d.Path)
		if err != nil {
			continue
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			continue // a folder that does not exist holds no plugin
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), ExecutablePrefix)
			if !ok || !namePattern.MatchString(name) {
				continue
			}
			path := filepath.Join(abs, e.Name())
			if !executable(path) {
				continue
			}
			if f, seen := byName[name]; seen {
				if f.Path != path {
					f.Shadowed = append(f.Shadowed, path)
				}
				continue
			}
			byName[name] = &Found{Plugin: Plugin{Name: name, Path: path}, Origin: d.Origin}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := make([]Found, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out
}

// executable reports whether path is a regular file (after symlinks) that
// someone may execute.
func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
