// Package archtest holds no code: its test enforces the import layering of STYLE.md §C.1, so that
// the directory tree keeps telling the truth about the architecture.
package archtest
