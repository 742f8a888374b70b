package safefs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameNoReplace is renameatx_np(RENAME_EXCL); file systems without it fall back to linkRename.
func renameNoReplace(olddir int, old string, newdir int, new string) error {
	err := ignoringEINTR0(func() error { return unix.RenameatxNp(olddir, old, newdir, new, unix.RENAME_EXCL) })
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) {
		return linkRename(olddir, old, newdir, new)
	}
	return err
}
