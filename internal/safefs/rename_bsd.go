//go:build freebsd || netbsd || openbsd || dragonfly

package safefs

// renameNoReplace: these kernels have no rename that refuses to replace; link then unlink.
func renameNoReplace(olddir int, old string, newdir int, new string) error {
	return linkRename(olddir, old, newdir, new)
}
