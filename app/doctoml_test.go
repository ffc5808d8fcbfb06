package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docTOMLBlocks returns every ```toml block of the project's Markdown,
// named file:line.
func docTOMLBlocks(t *testing.T) map[string]string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../README.md", "../docs/*.md", "../deploy/*.md", "../deploy/*/*.md", "../control/*/README.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	blocks := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cur *strings.Builder
		start := 0
		for i, line := range strings.Split(string(raw), "\n") {
			switch {
			case cur == nil && strings.TrimSpace(line) == "```toml":
				cur, start = &strings.Builder{}, i+1
			case cur != nil && strings.TrimSpace(line) == "```":
				blocks[fmt.Sprintf("%s:%d", strings.TrimPrefix(f, "../"), start)] = cur.String()
				cur = nil
			case cur != nil:
				cur.WriteString(line + "\n")
			}
		}
		if cur != nil {
			t.Errorf("%s:%d: ```toml block never closed", f, start)
		}
	}
	return blocks
}

// TestDocTOMLPassesConfigCheck runs `config check` on every TOML block in
// the docs, so no document shows a configuration the binary rejects. A
// block may be partial: like any file, it is merged onto the defaults.
func TestDocTOMLPassesConfigCheck(t *testing.T) {
	blocks := docTOMLBlocks(t)
	if len(blocks) < 4 {
		t.Fatalf("found only %d ```toml blocks", len(blocks))
	}
	for where, body := range blocks {
		p := filepath.Join(t.TempDir(), "doc.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, nil, "config", "check", p); err != nil {
			t.Errorf("%s: config check: %v", where, err)
		}
	}
}
