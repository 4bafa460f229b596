package report

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const (
		seed = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst" // 52 base32 chars
		hex  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	)
	tests := []struct {
		in, want string
	}{
		{"key=nodekey:" + seed, "key=nodekey:" + Redacted},
		{"NODEKEY:" + strings.ToUpper(seed) + " x", "NODEKEY:" + Redacted + " x"},
		{"netkey:" + seed + ",", "netkey:" + Redacted + ","},
		{"join with rayfish1-" + seed + seed + " now", "join with rayfish1-" + Redacted + " now"},
		{"seed " + hex, "seed [REDACTED-HEX]"},
		{"short hex deadbeef stays", "short hex deadbeef stays"},
		{`secret=hunter2 next=1`, `secret=` + Redacted + ` next=1`},
		{`invite_secret: [1 2 3 4]`, `invite_secret: ` + Redacted},
		{`{"password": "pw", "x": 1}`, `{"password": "` + Redacted + `", "x": 1}`},
		{"Token = abc", "Token = " + Redacted},
		{"raw=" + strings.Repeat("QUJD", 11) + "=", "raw=[REDACTED-B64]"},
		// Node ids (public keys) stay.
		{"peer=" + seed, "peer=" + seed},
		{"100.64.1.2 fd72:6179:6669::53 198.18.0.1:41641", "100.64.1.2 fd72:6179:6669::53 198.18.0.1:41641"},
		{"nodekey: (none)", "nodekey: (none)"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactJSON(t *testing.T) {
	in := `{"self":{"id":"abc","hostname":"h"},"private_key":"x","inviteCode":"y","Secret":[1,2],` +
		`"nested":[{"token":null,"note":"netkey:abcdef"}],"n":12345678901234567890}`
	out, err := RedactJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"private_key", "inviteCode", "Secret"} {
		if got[k] != Redacted {
			t.Errorf("%s = %v, want %q", k, got[k], Redacted)
		}
	}
	nested := got["nested"].([]any)[0].(map[string]any)
	if nested["token"] != nil {
		t.Errorf("null token became %v", nested["token"])
	}
	if nested["note"] != "netkey:"+Redacted {
		t.Errorf("note = %v", nested["note"])
	}
	if !strings.Contains(string(out), "12345678901234567890") {
		t.Errorf("large number not kept exactly:\n%s", out)
	}
	if got["self"].(map[string]any)["id"] != "abc" {
		t.Errorf("public id lost:\n%s", out)
	}
	if _, err := RedactJSON([]byte("{")); err == nil {
		t.Error("RedactJSON of broken JSON succeeded")
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("nodekey:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst")
	f.Add("secret=[1 2 3] token: x rayfish1-abc netkey:zz")
	f.Add("token=nodekey:abc")
	f.Add("secret=00112233445566778899aabbccddeeff")
	f.Add(`"password": "a"`)
	f.Add(strings.Repeat("QUJD", 11) + "==")
	f.Add("\xff\xfenodekey:a")
	f.Fuzz(func(t *testing.T, s string) {
		once := Redact(s)
		if twice := Redact(once); twice != once {
			t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q", s, once, twice)
		}
		// Key and invite forms never survive.
		for _, prefix := range []string{"nodekey:", "netkey:", "rayfish1-"} {
			low := strings.ToLower(once)
			for i := strings.Index(low, prefix); i >= 0; {
				rest := low[i+len(prefix):]
				if rest != "" && strings.ContainsRune("abcdefghijklmnopqrstuvwxyz234567=", rune(rest[0])) {
					t.Fatalf("%s followed by key material in %q", prefix, once)
				}
				j := strings.Index(rest, prefix)
				if j < 0 {
					break
				}
				i += len(prefix) + j
			}
		}
		if rules[3].re.MatchString(once) {
			t.Fatalf("long hex survives in %q", once)
		}
	})
}

func FuzzRedactJSON(f *testing.F) {
	f.Add([]byte(`{"secret":"x","a":["nodekey:abc",1,null,true]}`))
	f.Add([]byte(`[1,2,{"Code":{"x":1}}]`))
	f.Add([]byte(`"rayfish1-abc"`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := RedactJSON(doc)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("RedactJSON produced invalid JSON %q from %q", out, doc)
		}
		again, err := RedactJSON(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %q -> %q (%v)", out, again, err)
		}
	})
}

func BenchmarkRedactLogLine(b *testing.B) {
	lines := []string{
		`time=2025-03-01T12:00:05Z level=INFO msg="peer connected" peer=abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst path=direct endpoint=198.18.0.2:41641`,
		`time=2025-03-01T12:00:05Z level=INFO msg="loaded key" key=nodekey:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst`,
	}
	for _, l := range lines {
		b.Run(l[40:55], func(b *testing.B) {
			b.SetBytes(int64(len(l)))
			for b.Loop() {
				Redact(l)
			}
		})
	}
}
