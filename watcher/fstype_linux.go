//go:build linux

package watcher

import "golang.org/x/sys/unix"

// Superblock magic numbers of filesystems whose changes made by other
// machines produce no inotify events (golang.org/x/sys/unix zerrors_linux.go).
var remoteMagic = map[uint32]string{
	unix.NFS_SUPER_MAGIC:  "nfs",
	unix.SMB_SUPER_MAGIC:  "smb",
	unix.CIFS_SUPER_MAGIC: "cifs",
	unix.SMB2_SUPER_MAGIC: "smb2",
	unix.FUSE_SUPER_MAGIC: "fuse",
	0x564c:                "ncp",
	0x6b414653:            "afs",
	0x73757245:            "coda",
	0x47504653:            "gpfs",
	0x19830326:            "fhgfs",
	0x00c36400:            "ceph",
	0x0bd00bd0:            "lustre",
	0x01021997:            "v9fs",
}

// remoteFS reports whether path lies on a network or FUSE filesystem, and
// its type name when it does.
func remoteFS(path string) (string, bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", false, err
	}
	name, ok := remoteMagic[uint32(st.Type)]
	return name, ok, nil
}
