//go:build unix

package testsupport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// LongPath creates, below root, a JPEG whose absolute path is longer than PATH_MAX while its
// directory's is not (so the directory can be listed, the file not stat'ed by path), walking down
// with directory descriptors (nothing can name such a path whole), and returns its path. It skips
// the test on a system that stats such paths.
func LongPath(t testing.TB, root string) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	path, name := root, strings.Repeat("d", 200)
	for len(path)+1+len(name) < unix.PathMax-200 {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_DIRECTORY|unix.O_RDONLY, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, path = next, path+"/"+name
	}
	file := strings.Repeat("f", 240) + ".jpg"
	ffd, err := unix.Openat(fd, file, unix.O_CREAT|unix.O_WRONLY, 0o644)
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(ffd)
	path = filepath.Join(path, file)
	if _, err := os.Lstat(path); err == nil {
		t.Skip("this system stats paths longer than PATH_MAX")
	}
	return path
}
