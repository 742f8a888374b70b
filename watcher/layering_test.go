package watcher

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayering keeps the watcher a leaf (STYLE.md C.1): its code imports no
// other mediasync package; tests may use internal/mediagen.
func TestLayering(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, "github.com/mediasync/mediasync/") {
				continue
			}
			if strings.HasSuffix(name, "_test.go") && p == "github.com/mediasync/mediasync/internal/mediagen" {
				continue
			}
			t.Errorf("%s imports %s: the watcher must not depend on other mediasync packages", name, p)
		}
	}
}
