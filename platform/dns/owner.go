package dns

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rayfish/rayfish/platform/paths"
)

// ownerPrefix starts the line of a managed file that names the daemon
// managing it by its state directory (one daemon per state directory, see
// paths.LockStateDir). Several daemons can see one file (network
// namespaces sharing /etc); each leaves the others' files alone.
const ownerPrefix = "# rayfish owner: "

// sidecarTag is put before the extension of a file's name to name the
// copy of its original kept beside it: resolv.conf → resolv.pre-rayfish.conf.
const sidecarTag = ".pre-rayfish"

// withOwner puts the owner line after content's first line (the Header).
func withOwner(content []byte, owner string) []byte {
	if owner == "" {
		return content
	}
	line := ownerPrefix + owner + "\n"
	i := bytes.IndexByte(content, '\n')
	if i < 0 {
		return append(append(slices.Clip(content), '\n'), line...)
	}
	out := make([]byte, 0, len(content)+len(line))
	out = append(out, content[:i+1]...)
	out = append(out, line...)
	return append(out, content[i+1:]...)
}

// ownerOf returns the state directory named in a managed file, or "".
func ownerOf(content []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 4096), maxFile)
	for sc.Scan() {
		if o, ok := strings.CutPrefix(sc.Text(), ownerPrefix); ok {
			return strings.TrimSpace(o)
		}
	}
	return ""
}

// ownerName is how stateDir appears in owner lines: absolute and clean,
// on one line.
func ownerName(stateDir string) string {
	if stateDir == "" {
		return ""
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		abs = filepath.Clean(stateDir)
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return '?'
		}
		return r
	}, abs)
}

// otherOwner returns the owner of a rayfish-managed content when that is
// a daemon other than self and it is running (its state directory is
// locked); the error then says who it is. A file left by a daemon that
// is gone is nobody's.
func otherOwner(content []byte, self string) error {
	owner := ownerOf(content)
	if owner == "" || owner == self {
		return nil
	}
	if pid, inUse := paths.StateDirInUse(owner); inUse {
		return fmt.Errorf("managed by another rayfish daemon (state dir %s in use by pid %d)", owner, pid)
	}
	return nil
}

// sidecarPath returns where the copy of path's original is kept: beside
// the file. A file that is a bind mount (inside `ip netns exec`,
// /etc/resolv.conf is /etc/netns/NAME/resolv.conf) gets none: beside it
// is the host's /etc, and beside its source a file `ip netns exec` would
// try to mount over /etc too; its backup stays in the state directory.
func sidecarPath(path string) string {
	if isMountPoint(path) {
		return ""
	}
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	if ext == base {
		ext = "" // a dot file: the tag goes at the end
	}
	return filepath.Join(filepath.Dir(path), strings.TrimSuffix(base, ext)+sidecarTag+ext)
}

// identify returns the identity of the regular file at path, or
// fs.ErrNotExist.
func identify(path string) (fileID, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileID{}, err
	}
	if !fi.Mode().IsRegular() {
		return fileID{}, fmt.Errorf("%s is not a regular file", path)
	}
	content, err := readSmall(path)
	if err != nil {
		return fileID{}, err
	}
	id := contentID(content)
	id.Dev, id.Ino = devIno(fi)
	return id, nil
}

func contentID(content []byte) fileID {
	sum := sha256.Sum256(content)
	return fileID{Sum: hex.EncodeToString(sum[:])}
}

// recordWritten adds id, the identity of a version of b's file rayfish
// is about to write, to b.Written.
func recordWritten(b *fileBackup, id fileID) {
	b.Written = slices.DeleteFunc(b.Written, func(w fileID) bool { return w == id })
	b.Written = append(b.Written, id)
	if n := len(b.Written); n > maxWritten {
		b.Written = slices.Clone(b.Written[n-maxWritten:])
	}
}

// isWritten reports whether the file at b.Path is one rayfish wrote:
// same device, inode and content as a version in b.Written. Backups from
// before rayfish recorded that fall back to the marker in the content.
func isWritten(b fileBackup) (bool, error) {
	if len(b.Written) == 0 {
		cur, err := readSmall(b.Path)
		return err == nil && isOurs(cur), err
	}
	id, err := identify(b.Path)
	if err != nil {
		return false, err
	}
	return slices.Contains(b.Written, id), nil
}

// readSidecar returns the original kept in a sidecar file, if there is
// one that is not itself a rayfish file.
func readSidecar(path string) ([]byte, fs.FileMode, bool) {
	if path == "" {
		return nil, 0, false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, 0, false
	}
	content, err := readSmall(path)
	if err != nil || isOurs(content) {
		return nil, 0, false
	}
	return content, fi.Mode().Perm(), true
}
