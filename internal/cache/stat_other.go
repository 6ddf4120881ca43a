//go:build !linux

package cache

import "io/fs"

// identityOf on systems where this package does not read inode and ctime:
// size and mtime alone can be restored by tools (touch -r, cp -p), so the
// shortcut is not trusted and the file is hashed every time.
func identityOf(st fs.FileInfo) fileIdentity {
	return fileIdentity{Size: st.Size(), MtimeNs: st.ModTime().UnixNano()}
}

// selfExe is empty where there is no such link: os.Executable's path is
// used.
const selfExe = ""
