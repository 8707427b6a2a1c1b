package artifactory

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeAQL feeds decodeAQL arbitrary answers (seed corpus in testdata/fuzz/FuzzDecodeAQL). It must never panic,
// and what it accepts must be exactly one JSON object whose "results" array it returned row for row.
func FuzzDecodeAQL(f *testing.F) {
	f.Add([]byte(`{"results":[{"repo":"docker-local","path":"app/latest","name":"manifest.json","sha256":"x","created":"2021-05-03T15:47:24.310Z"}],"range":{"start_pos":0,"end_pos":1,"total":1}}`))
	f.Add([]byte(`{"results":[],"range":{"notification":"trimmed"}}`))
	f.Add([]byte(`{"results":[{"repo":"r"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, rng, err := decodeAQL(json.NewDecoder(bytes.NewReader(b)))
		if err != nil {
			if rows != nil {
				t.Fatalf("rows %v returned with error %v", rows, err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted %q, which is not one JSON value", b)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", b, err)
		}
		var results []json.RawMessage
		if err := json.Unmarshal(top["results"], &results); err != nil || top["results"] == nil {
			t.Fatalf("accepted %q without a results array: %v", b, err)
		}
		if len(rows) != len(results) {
			t.Fatalf("decoded %d rows from a results array of %d", len(rows), len(results))
		}
		if raw, ok := top["range"]; ok {
			var want aqlRange
			if json.Unmarshal(raw, &want) == nil && want.Notification != rng.Notification {
				t.Fatalf("notification %q, the answer says %q", rng.Notification, want.Notification)
			}
		}
	})
}
