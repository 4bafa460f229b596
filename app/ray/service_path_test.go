package main

import "testing"

func TestPathWith(t *testing.T) {
	dir := `C:\Program Files\rayfish`
	tests := []struct {
		path, want string
		changed    bool
	}{
		{``, dir, true},
		{`C:\Windows`, `C:\Windows;` + dir, true},
		{`C:\Windows;`, `C:\Windows;` + dir, true},
		{`C:\Windows;` + dir, `C:\Windows;` + dir, false},
		{`c:\program files\RAYFISH\;C:\Windows`, `c:\program files\RAYFISH\;C:\Windows`, false},
		{`"C:\Program Files\rayfish"`, `"C:\Program Files\rayfish"`, false},
		{`%SystemRoot%;C:\Program Files\rayfish2`, `%SystemRoot%;C:\Program Files\rayfish2;` + dir, true},
	}
	for _, tt := range tests {
		got, changed := pathWith(tt.path, dir)
		if got != tt.want || changed != tt.changed {
			t.Errorf("pathWith(%q) = %q, %v; want %q, %v", tt.path, got, changed, tt.want, tt.changed)
		}
	}
}

func TestPathWithout(t *testing.T) {
	dir := `C:\Program Files\rayfish`
	tests := []struct {
		path, want string
		changed    bool
	}{
		{``, ``, false},
		{`C:\Windows`, `C:\Windows`, false},
		{`C:\Windows;` + dir, `C:\Windows`, true},
		{dir + `\;C:\Windows;;C:\bin`, `C:\Windows;;C:\bin`, true},
		{`C:\A;c:\PROGRAM FILES\rayfish;C:\B;` + dir, `C:\A;C:\B`, true},
		{`C:\Program Files\rayfish2`, `C:\Program Files\rayfish2`, false},
		{dir, ``, true},
	}
	for _, tt := range tests {
		got, changed := pathWithout(tt.path, dir)
		if got != tt.want || changed != tt.changed {
			t.Errorf("pathWithout(%q) = %q, %v; want %q, %v", tt.path, got, changed, tt.want, tt.changed)
		}
	}
}

func TestPathRoundTrip(t *testing.T) {
	dir := `C:\Program Files\rayfish`
	for _, p := range []string{``, `C:\Windows`, `C:\Windows;%SystemRoot%\system32;`, `;;x`} {
		added, _ := pathWith(p, dir)
		removed, _ := pathWithout(added, dir)
		again, _ := pathWith(removed, dir)
		if again != added {
			t.Errorf("add/remove/add of %q: %q then %q", p, added, again)
		}
	}
}

func FuzzPathEdit(f *testing.F) {
	f.Add(`C:\Windows;C:\Program Files\rayfish`, `C:\Program Files\rayfish`)
	f.Add(``, `C:\x`)
	f.Add(`;;`, `\`)
	f.Fuzz(func(t *testing.T, path, dir string) {
		added, _ := pathWith(path, dir)
		if _, changed := pathWith(added, dir); changed {
			t.Fatalf("pathWith not idempotent for %q %q", path, dir)
		}
		removed, _ := pathWithout(added, dir)
		if validPathDir(dir) {
			for _, e := range splitPath(removed) {
				if samePathDir(e, dir) {
					t.Fatalf("pathWithout left %q in %q", dir, removed)
				}
			}
		}
	})
}

func TestValidPathDir(t *testing.T) {
	for dir, want := range map[string]bool{
		`C:\Program Files\rayfish`: true, `\`: false, ``: false, `  `: false, `C:\a;b`: false, `"C:\x"`: false,
	} {
		if got := validPathDir(dir); got != want {
			t.Errorf("validPathDir(%q) = %v", dir, got)
		}
	}
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == ';' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}
