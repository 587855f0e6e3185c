// Package local is regionctl's default state backend: one directory
// (normally .regionctl/state) holding, for each region,
//
//	<region>.json         the state document (pretty, stable JSON, mode 0600)
//	<region>.json.backup  the version before the last write
//	<region>.lock         the lock record (JSON LockInfo) while a run holds the region
//	<region>.json.flock   an empty file that writers flock(2) around each
//	                      read-check-write; it is never deleted
//
// Writes compare-and-swap on serial and lineage under the flock, so two
// processes cannot interleave, and replace the document atomically (temporary
// file in the same directory, fsync, rename, fsync of the directory): a crash
// leaves the old document or the new one, never a mix. A document that cannot
// be decoded is reported with the way to recover and is never overwritten.
//
// The flock makes the backend safe between processes on one machine and on
// file systems that honour flock across machines; it is not a substitute for
// a remote backend shared by several machines.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/regionctl/regionctl/state"
)

// File name suffixes of a region's files, after the region name.
const (
	stateSuffix  = ".json"
	backupSuffix = ".json.backup"
	flockSuffix  = ".json.flock"
	lockSuffix   = ".lock"
	// Temporary files start with "." (which no region name does) and end
	// in tmpSuffix followed by a random string.
	tmpSuffix = ".tmp-"
)

const (
	fileMode = 0o600 // state may name infrastructure: owner only
	dirMode  = 0o700
)

// Backend stores regions' states and locks as files in one directory. The
// zero value is not usable; call New. A Backend holds no open files between
// calls, and any number of Backends (in any number of processes) may share a
// directory.
type Backend struct {
	dir string
}

var _ state.Backend = (*Backend)(nil)

// New returns a backend keeping its files in dir (typically
// .regionctl/state). The directory is created, mode 0700, on the first
// write or lock.
func New(dir string) *Backend { return &Backend{dir: dir} }

// Dir returns the backend's directory.
func (b *Backend) Dir() string { return b.dir }

// StatePath returns the file holding region's state document.
func (b *Backend) StatePath(region string) string {
	return filepath.Join(b.dir, region+stateSuffix)
}

// BackupPath returns the file holding the previous version of region's state.
func (b *Backend) BackupPath(region string) string {
	return filepath.Join(b.dir, region+backupSuffix)
}

// LockPath returns the file holding region's lock record while it is locked.
func (b *Backend) LockPath(region string) string {
	return filepath.Join(b.dir, region+lockSuffix)
}

func (b *Backend) flockPath(region string) string {
	return filepath.Join(b.dir, region+flockSuffix)
}

// Read returns region's state, an error wrapping state.ErrNoState when there
// is none, or a *state.CorruptError naming the file and its backup when the
// document cannot be used. Read takes no lock: writes replace the file by
// rename, so it sees a whole document.
func (b *Backend) Read(ctx context.Context, region string) (*state.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := state.ValidateRegionName(region); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	s, _, err := b.load(region)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("region %s (%s): %w", region, b.StatePath(region), state.ErrNoState)
	}
	return s, nil
}

// load reads and decodes region's document. It returns (nil, nil, nil) when
// there is none, and the raw bytes with the state.
func (b *Backend) load(region string) (*state.State, []byte, error) {
	path := b.StatePath(region)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state of region %s: %w", region, err)
	}
	s, err := state.Decode(data)
	if err == nil && s.Region != region {
		err = fmt.Errorf("the file holds the state of region %q", s.Region)
	}
	if err != nil {
		cerr := &state.CorruptError{Region: region, Where: path, Err: err}
		if _, serr := os.Stat(b.BackupPath(region)); serr == nil {
			cerr.Backup = b.BackupPath(region)
		}
		return nil, data, cerr
	}
	return s, data, nil
}

// Write stores s as s.Region's state if the stored document is at serial
// prevSerial with s's lineage (or absent and prevSerial is 0); otherwise it
// returns a *state.ConflictError. The previous document is kept in the
// backup file. A stored document that cannot be decoded is never
// overwritten: Write returns its *state.CorruptError.
func (b *Backend) Write(ctx context.Context, s *state.State, prevSerial uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return errors.New("write state: nil state")
	}
	region := s.Region
	if err := state.ValidateRegionName(region); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if s.Serial != prevSerial+1 {
		return fmt.Errorf("write state of region %s: serial %d does not follow %d", region, s.Serial, prevSerial)
	}
	data, err := state.Encode(s)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return b.withFlock(ctx, region, func() error {
		b.removeStrayTemps(region + stateSuffix)
		b.removeStrayTemps(region + backupSuffix)
		cur, raw, err := b.load(region)
		if err != nil {
			return fmt.Errorf("write state of region %s: %w", region, err)
		}
		if cur == nil {
			if prevSerial != 0 {
				return &state.ConflictError{Region: region, WantSerial: prevSerial, GotSerial: 0,
					WantLineage: s.Lineage, GotLineage: s.Lineage}
			}
		} else {
			if cur.Lineage != s.Lineage || cur.Serial != prevSerial {
				return &state.ConflictError{Region: region, WantSerial: prevSerial, GotSerial: cur.Serial,
					WantLineage: s.Lineage, GotLineage: cur.Lineage}
			}
			if err := b.writeAtomic(b.BackupPath(region), raw); err != nil {
				return fmt.Errorf("write state of region %s: keep previous version: %w", region, err)
			}
		}
		if err := b.writeAtomic(b.StatePath(region), data); err != nil {
			return fmt.Errorf("write state of region %s: %w", region, err)
		}
		return nil
	})
}

// Regions lists the regions that have a state file, sorted.
func (b *Backend) Regions(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	regions, err := b.list(stateSuffix)
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return regions, nil
}

// list returns the sorted region names of the files named <region><suffix>.
// Temporary files and names that are not region names are skipped.
func (b *Backend) list(suffix string) ([]string, error) {
	entries, err := os.ReadDir(b.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, e := range entries {
		name := e.Name()
		region, ok := strings.CutSuffix(name, suffix)
		if !ok || !e.Type().IsRegular() || state.ValidateRegionName(region) != nil {
			continue
		}
		out = append(out, region)
	}
	slices.Sort(out)
	return out, nil
}

// Lock creates region's lock record for info. The record is written whole
// to a temporary file and then hard-linked into place, which fails when the
// record exists, so a reader never sees half a record; on file systems
// without hard links it is created with O_EXCL instead. Both happen under
// the region's flock.
func (b *Backend) Lock(ctx context.Context, region string, info state.LockInfo) (state.LockInfo, error) {
	if err := ctx.Err(); err != nil {
		return state.LockInfo{}, err
	}
	if err := state.ValidateRegionName(region); err != nil {
		return state.LockInfo{}, fmt.Errorf("lock: %w", err)
	}
	info.Region = region
	if info.ID == "" {
		info.ID = uuid.NewString()
	}
	data, err := encodeLock(info)
	if err != nil {
		return state.LockInfo{}, err
	}
	err = b.withFlock(ctx, region, func() error {
		b.removeStrayTemps(region + lockSuffix)
		path := b.LockPath(region)
		created, err := b.createExclusive(path, data)
		if err != nil {
			return fmt.Errorf("lock region %s: %w", region, err)
		}
		if !created {
			return b.heldError(region, nil)
		}
		return nil
	})
	if err != nil {
		return state.LockInfo{}, err
	}
	return info, nil
}

// link is os.Link; tests replace it to exercise the O_EXCL fallback.
var link = os.Link

// createExclusive creates path holding data unless it exists; it reports
// whether it did.
func (b *Backend) createExclusive(path string, data []byte) (bool, error) {
	tmp, err := b.writeTemp(path, data)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	err = link(tmp, path)
	switch {
	case err == nil:
		return true, syncDir(b.dir)
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	// No hard links here (some network and FUSE file systems): create
	// the record with O_EXCL. The flock keeps readers in this package from
	// seeing it half written.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return false, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return false, err
	}
	return true, syncDir(b.dir)
}

// heldError describes region's current lock holder, with cause attached.
// Called under the flock.
func (b *Backend) heldError(region string, cause error) error {
	h, err := b.readLock(region)
	if err != nil {
		return err
	}
	if h == nil {
		if cause == nil {
			cause = errors.New("it is not locked")
		}
		return &state.LockError{Region: region, Err: cause}
	}
	return &state.LockError{Region: region, Holder: h, Err: cause}
}

// readLock returns region's lock record, or nil when it is not locked.
func (b *Backend) readLock(region string) (*state.LockInfo, error) {
	path := b.LockPath(region)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock of region %s: %w", region, err)
	}
	var h state.LockInfo
	if err := json.Unmarshal(data, &h); err != nil || h.ID == "" {
		if err == nil {
			err = errors.New("it has no lock ID")
		}
		return nil, &state.LockError{Region: region, Err: fmt.Errorf(
			"lock file %s is unreadable (%v): if no regionctl run is using region %s, delete the file", path, err, region)}
	}
	h.Region = region
	return &h, nil
}

// Renew moves the lease deadline of the lock with the given ID.
func (b *Backend) Renew(ctx context.Context, region, id string, expires time.Time) error {
	return b.modifyLock(ctx, region, id, "renew", func(h *state.LockInfo) error {
		h.Expires = expires
		data, err := encodeLock(*h)
		if err != nil {
			return err
		}
		return b.writeAtomic(b.LockPath(region), data)
	})
}

// Unlock removes the lock with the given ID.
func (b *Backend) Unlock(ctx context.Context, region, id string) error {
	return b.modifyLock(ctx, region, id, "unlock", func(*state.LockInfo) error {
		if err := os.Remove(b.LockPath(region)); err != nil {
			return err
		}
		return syncDir(b.dir)
	})
}

// modifyLock runs fn on region's lock record under the flock when it is held
// under id, and returns a *state.LockError otherwise.
func (b *Backend) modifyLock(ctx context.Context, region, id, op string, fn func(*state.LockInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := state.ValidateRegionName(region); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return b.withFlock(ctx, region, func() error {
		h, err := b.readLock(region)
		if err != nil {
			return err
		}
		if h == nil {
			return &state.LockError{Region: region, Err: fmt.Errorf("cannot %s lock %s: region is not locked", op, id)}
		}
		if h.ID != id {
			return &state.LockError{Region: region, Holder: h, Err: fmt.Errorf("cannot %s lock %s: the lock is held under another ID", op, id)}
		}
		if err := fn(h); err != nil {
			var lerr *state.LockError
			if errors.As(err, &lerr) {
				return err
			}
			return fmt.Errorf("%s lock of region %s: %w", op, region, err)
		}
		return nil
	})
}

// Locks lists the lock records in the directory, sorted by region.
func (b *Backend) Locks(ctx context.Context) ([]state.LockInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	regions, err := b.list(lockSuffix)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	out := []state.LockInfo{}
	for _, region := range regions {
		var h *state.LockInfo
		err := b.withFlock(ctx, region, func() error {
			var err error
			h, err = b.readLock(region)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		if h != nil { // unlocked since the listing
			out = append(out, *h)
		}
	}
	return out, nil
}

// UnlockStale removes region's lock if it is held under id and is stale at
// now (its lease ran out, or HolderGone), checking both under the flock so
// a holder that renews at the same moment keeps its lock. state.BreakStale
// and state.Acquire use it.
func (b *Backend) UnlockStale(ctx context.Context, region, id string, now time.Time) error {
	return b.modifyLock(ctx, region, id, "break", func(h *state.LockInfo) error {
		if state.StaleReason(b, *h, now) == "" {
			return &state.LockError{Region: region, Holder: h, Err: errors.New("its lease was renewed: it is not stale")}
		}
		if err := os.Remove(b.LockPath(region)); err != nil {
			return err
		}
		return syncDir(b.dir)
	})
}

var _ state.StaleUnlocker = (*Backend)(nil)

// HolderGone reports a lock holder on this host whose process no longer
// exists: after a kill -9 or a crash its lock is stale at once, without
// waiting for the lease. A holder on another host (a state directory shared
// over NFS), in another PID namespace (a container with the host's name),
// or whose process still exists is left to its lease; so is one whose pid
// was reused by another process (the check errs towards alive).
func (b *Backend) HolderGone(h state.LockInfo) string {
	host, err := os.Hostname()
	if err != nil || h.PID <= 0 || h.Host() == "" || h.Host() != host || h.PIDNamespace != state.PIDNamespace() {
		return ""
	}
	if err := unix.Kill(h.PID, 0); !errors.Is(err, unix.ESRCH) {
		return "" // it exists (EPERM: someone else's process)
	}
	return fmt.Sprintf("its holder, pid %d on this host (%s), is no longer running", h.PID, host)
}

var _ state.HolderChecker = (*Backend)(nil)

func encodeLock(info state.LockInfo) ([]byte, error) {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode lock record: %w", err)
	}
	return append(data, '\n'), nil
}

// withFlock runs fn holding an exclusive flock on region's .flock file. The
// wait is not interruptible, but holders keep it only for one
// read-check-write.
func (b *Backend) withFlock(ctx context.Context, region string, fn func() error) error {
	if err := os.MkdirAll(b.dir, dirMode); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(b.flockPath(region), os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	defer f.Close()
	fd := int(f.Fd())
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	defer unix.Flock(fd, unix.LOCK_UN) //nolint:errcheck // closing the file releases it anyway
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn()
}

// writeTemp writes data to a new temporary file beside path, synced, and
// returns its name.
func (b *Backend) writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(b.dir, "."+filepath.Base(path)+tmpSuffix+"*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", err
	}
	if err := f.Chmod(fileMode); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// writeAtomic replaces path with data: temporary file, fsync, rename, fsync
// of the directory.
func (b *Backend) writeAtomic(path string, data []byte) error {
	tmp, err := b.writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(b.dir)
}

// removeStrayTemps deletes temporary files for base left by a process that
// died between writing and renaming them. Called under base's region flock,
// when no live writer can own one.
func (b *Backend) removeStrayTemps(base string) {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return // best effort: a stray file is harmless
	}
	prefix := "." + base + tmpSuffix
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			os.Remove(filepath.Join(b.dir, e.Name()))
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
