package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// updateReports rewrites the committed report.md files from their
// report.json (after a deliberate change of the renderer).
var updateReports = flag.Bool("update-reports", false, "rewrite bench/results/*/report.md from report.json")

// The committed reports (bench/results/reference, recovery, cluster,
// cluster-kafka, scaling, million) are what Markdown makes of their report.json, byte for
// byte: a report
// edited by hand, or a renderer changed without regenerating them, fails
// here. The reference report carries met and missed targets, so their
// rendering is covered too.
func TestCommittedReportsAreGeneratedFromTheirJSON(t *testing.T) {
	for _, dir := range []string{"reference", "recovery", "cluster", "cluster-kafka", "scaling", "million"} {
		t.Run(dir, func(t *testing.T) {
			base := filepath.Join("..", "results", dir)
			js, err := os.ReadFile(filepath.Join(base, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var r Report
			if err := json.Unmarshal(js, &r); err != nil {
				t.Fatalf("report.json: %v", err)
			}
			want, err := os.ReadFile(filepath.Join(base, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			got := Markdown(&r)
			if *updateReports {
				if err := os.WriteFile(filepath.Join(base, "report.md"), got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s/report.md is not Markdown(report.json): after a deliberate renderer change run go test ./bench/report -run TestCommittedReports -update-reports\n--- got ---\n%.2000s", base, got)
			}
		})
	}
}
