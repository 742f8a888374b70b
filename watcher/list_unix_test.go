//go:build unix

package watcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// makeLongPath creates, below root, a JPEG whose absolute path is longer than PATH_MAX while its
// directory's path is not (so the directory can be listed, the file not stat'ed by path). It walks
// down with directory descriptors, as nothing can name such a path whole. It returns the path.
func makeLongPath(t *testing.T, root string) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := root
	name := strings.Repeat("d", 200)
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
	unix.Write(ffd, []byte("\xff\xd8\xff"))
	unix.Close(ffd)
	path = filepath.Join(path, file)
	if len(path) <= unix.PathMax {
		t.Fatalf("path of %d bytes is not longer than PATH_MAX", len(path))
	}
	if _, err := os.Lstat(path); err == nil {
		t.Skip("this system stats paths longer than PATH_MAX")
	}
	return path
}
