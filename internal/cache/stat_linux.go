//go:build linux

package cache

import (
	"io/fs"
	"syscall"
)

// identityOf extracts what tells one version of a file from another.
// Linux gives inode and ctime, which no user-level tool can set back, so
// the size+mtime shortcut is trustworthy here (see fileKey).
func identityOf(st fs.FileInfo) fileIdentity {
	id := fileIdentity{Size: st.Size(), MtimeNs: st.ModTime().UnixNano()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		id.Dev, id.Ino = uint64(s.Dev), s.Ino
		id.CtimeNs = s.Ctim.Sec*1e9 + s.Ctim.Nsec
		id.Full = true
	}
	return id
}

// selfExe opens the running executable itself, even when its path has
// since been replaced or removed.
const selfExe = "/proc/self/exe"
