package emulator

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports holds the package to its contract: it verifies signatures with
// its own code (never the client's library) and imports none of the other
// mediasync packages (STYLE.md §C.1).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{
		"github.com/dghubble/oauth1",
		"github.com/mediasync/mediasync/watcher",
		"github.com/mediasync/mediasync/uploader",
		"github.com/mediasync/mediasync/manifest",
		"github.com/mediasync/mediasync/config",
		"github.com/mediasync/mediasync/agent",
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
