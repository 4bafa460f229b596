package netmap

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrRestore(t *testing.T) {
	s, _ := sampleState(t)
	good, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	older := &State{}
	if _, err := older.Create("older", false, s.Networks[0].Roster.Members[0].Node, "box", t0); err != nil {
		t.Fatal(err)
	}
	prev, err := older.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	newer := []byte(`{"version":99,"networks":[]}`)
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	const kept = "state.json.corrupt-20261204T180000Z"
	tests := []struct {
		name      string
		main, bak []byte // nil: no such file
		mainDir   bool   // state.json is a directory (unreadable)
		wantNets  []string
		restored  bool
		wantErr   string // substring of the error; "" for none
	}{
		{name: "missing: first start", wantNets: nil},
		{name: "good", main: good, bak: prev, wantNets: []string{"home", "work"}},
		{name: "truncated, good backup", main: good[:len(good)/2], bak: prev, wantNets: []string{"older"}, restored: true},
		{name: "empty, good backup", main: []byte{}, bak: prev, wantNets: []string{"older"}, restored: true},
		{name: "garbage, good backup", main: []byte("\x00\xff garbage"), bak: prev, wantNets: []string{"older"}, restored: true},
		{name: "truncated, no backup", main: good[:len(good)/2], wantErr: "no good backup"},
		{name: "garbage, garbage backup", main: []byte("garbage"), bak: []byte("{"), wantErr: "no good backup"},
		{name: "newer version is not restored", main: newer, bak: prev, wantErr: "upgrade rayfish"},
		{name: "unreadable", mainDir: true, bak: prev, wantErr: "will not start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tt.main != nil {
				if err := os.WriteFile(path, tt.main, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.mainDir {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if tt.bak != nil {
				if err := os.WriteFile(BackupPath(path), tt.bak, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			l, err := LoadOrRestore(path, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming %s and saying %q", err, path, tt.wantErr)
				}
				if strings.Contains(err.Error(), "netkey:") {
					t.Errorf("error leaks a secret: %v", err)
				}
				if tt.main != nil {
					if after, _ := os.ReadFile(path); !bytes.Equal(after, tt.main) {
						t.Error("a refused load modified the state file")
					}
				}
				if _, err := os.Stat(filepath.Join(dir, kept)); err == nil {
					t.Error("a refused load wrote a corrupt copy")
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadOrRestore: %v", err)
			}
			var names []string
			for _, n := range l.State.Networks {
				names = append(names, n.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantNets, ",") {
				t.Errorf("networks %q, want %q", names, tt.wantNets)
			}
			if (l.Restored != nil) != tt.restored {
				t.Fatalf("Restored = %v, want restored=%v", l.Restored, tt.restored)
			}
			if !tt.restored {
				if !bytes.Equal(l.Data, tt.main) {
					t.Errorf("Data is not the file's contents")
				}
				return
			}
			msg := l.Restored.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, kept) || !strings.Contains(msg, ".bak") {
				t.Errorf("Restored = %q, want it to name the file, the backup and the kept copy", msg)
			}
			if c, err := os.ReadFile(filepath.Join(dir, kept)); err != nil || !bytes.Equal(c, tt.main) {
				t.Errorf("damaged file not kept as %s: %q, %v", kept, c, err)
			}
			if m, _ := os.ReadFile(path); !bytes.Equal(m, tt.bak) || !bytes.Equal(l.Data, tt.bak) {
				t.Errorf("state file and Data are not the restored backup")
			}
			if again, err := Load(path); err != nil || len(again.Networks) != len(tt.wantNets) {
				t.Errorf("reloading the restored file: %v", err)
			}
		})
	}
}
