// Package report builds the support bundle of `ray report`: a .tar.gz
// with everything needed to look at a problem, and no secret.
//
// The archive holds one directory, rayfish-report-YYYYMMDD-HHMMSS/, with
//
//	version.txt   rayfish version, commit, Go version
//	system.txt    OS, kernel, CPUs, network interfaces (no MAC addresses)
//	status.json   the daemon's status, sanitized
//	logs.txt      the daemon's recent log lines
//	metrics.txt   the Prometheus metrics
//	firewall.txt  the firewall rules and counters
//	dns.txt       magic DNS and OS resolver configuration
//	audit.txt     the recent audit events
//
// Every byte written passes through Redact (status.json through
// RedactJSON): private keys, invite codes, secret-named values and
// anything that looks like a raw 16-byte-or-longer secret are removed.
// Node and network ids, which are public keys, stay.
package report

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxFileSize bounds each file in the archive; longer contents are cut.
const MaxFileSize = 8 << 20

// Input is what goes into a report. Every field is optional: a missing
// part is written as a short note, so the archive always has every file.
type Input struct {
	// Now names the report directory and dates the entries (time.Now).
	Now time.Time
	// Version is the text of version.txt.
	Version string
	// System returns the text of system.txt (nil: SystemInfo).
	System func() string
	// Status is marshalled to JSON and sanitized with RedactJSON
	// (typically an apitype.Status).
	Status any
	// Logs are the recent log lines (logring.Ring.Lines).
	Logs []string
	// Metrics is the Prometheus text (metrics.Text).
	Metrics []byte
	// Firewall and DNS describe those subsystems in free text.
	Firewall string
	DNS      string
	// Audit are recent audit log lines (audit.Tail).
	Audit []string
}

// file is one archive member.
type file struct {
	name string
	data []byte
}

// Build writes the report for in to w as a gzip-compressed tar.
func Build(w io.Writer, in Input) error {
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if in.System == nil {
		in.System = SystemInfo
	}
	status, err := statusJSON(in.Status)
	if err != nil {
		return err
	}
	files := []file{
		{"version.txt", text(in.Version)},
		{"system.txt", text(in.System())},
		{"status.json", status},
		{"logs.txt", text(strings.Join(in.Logs, "\n"))},
		{"metrics.txt", text(string(in.Metrics))},
		{"firewall.txt", text(in.Firewall)},
		{"dns.txt", text(in.DNS)},
		{"audit.txt", text(strings.Join(in.Audit, "\n"))},
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	dir := "rayfish-report-" + in.Now.UTC().Format("20060102-150405") + "/"
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir, Name: dir, Mode: 0o700, ModTime: in.Now,
	}); err != nil {
		return fmt.Errorf("report: write archive: %w", err)
	}
	for _, f := range files {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     dir + f.name,
			Mode:     0o600,
			Size:     int64(len(f.data)),
			ModTime:  in.Now,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("report: write archive: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("report: write archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("report: write archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("report: write archive: %w", err)
	}
	return nil
}

// text redacts s, cuts it at MaxFileSize and ends it with a newline; an
// empty s becomes a note.
func text(s string) []byte {
	if strings.TrimSpace(s) == "" {
		return []byte("(not available)\n")
	}
	// Line by line: most lines hold no candidate and skip the regexps.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Redact(l)
	}
	s = strings.Join(lines, "\n")
	if len(s) > MaxFileSize {
		const note = "\n… (truncated)"
		s = strings.ToValidUTF8(s[:MaxFileSize-len(note)], "") + note
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s)
}

func statusJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("report: encode status: %w", err)
	}
	out, err := RedactJSON(raw)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxFileSize {
		// Cutting JSON breaks it; say so instead.
		return []byte(`{"error":"status too large for the report"}` + "\n"), nil
	}
	return out, nil
}
