package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// TestJoinDenial: only the network key can deny, and a denial names the
// network and the node it denies.
func TestJoinDenial(t *testing.T) {
	admin, other := key.NewNode(), key.NewNode()
	n, err := netmap.Create("work", false, admin.Public(), "alpha", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := netmap.Create("home", false, admin.Public(), "alpha", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	joiner := key.NewNode().Public()
	d := signDenial(n, joiner)
	if !d.valid(n.ID, joiner) {
		t.Fatal("the admin's denial is not valid")
	}
	forged := signDenial(m, joiner) // another network's key
	forged.Network = n.ID
	tests := []struct {
		name string
		d    *joinDenial
		net  key.NetworkPublic
		node key.NodePublic
	}{
		{"none", nil, n.ID, joiner},
		{"for another node", d, n.ID, other.Public()},
		{"for another network", d, m.ID, joiner},
		{"signed by another network's key", forged, n.ID, joiner},
		{"no signature", &joinDenial{Network: n.ID, Node: joiner}, n.ID, joiner},
	}
	// After a rekey the denial carries the chain from the id the joiner
	// knows; without it, the new key's signature means nothing.
	if err := n.Rekey(admin, time.Now()); err != nil {
		t.Fatal(err)
	}
	rekeyed := signDenial(n, joiner)
	if !rekeyed.valid(n.ID, joiner) {
		t.Error("a denial of a rekeyed network is not valid")
	}
	unchained := *rekeyed
	unchained.Chain = nil
	if unchained.valid(n.ID, joiner) {
		t.Error("a denial by the new key without the chain accepted")
	}
	for _, tt := range tests {
		if tt.d.valid(tt.net, tt.node) {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// TestResolveRequest: a join request is named by node id, any unique
// prefix of it or the requester's hostname; ambiguity lists both.
func TestResolveRequest(t *testing.T) {
	now := time.Now()
	n, err := netmap.Create("work", false, key.NewNode().Public(), "alpha", now)
	if err != nil {
		t.Fatal(err)
	}
	// Two nodes whose ids share a 4-character prefix, found by trying.
	var k1, k2 key.NodePublic
	seen := map[string]key.NodePublic{}
	for k2.IsZero() {
		k := key.NewNode().Public()
		if o, ok := seen[k.String()[:4]]; ok {
			k1, k2 = o, k
		}
		seen[k.String()[:4]] = k
	}
	for i, k := range []key.NodePublic{k1, k2} {
		if err := n.AddRequest(netmap.JoinRequest{Node: k, Hostname: []string{"phone", "tablet"}[i], Received: now}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, q string
		want    key.NodePublic
		err     string
	}{
		{"full id", k1.String(), k1, ""},
		{"hostname", "tablet", k2, ""},
		{"unique prefix", k2.String()[:12], k2, ""},
		{"upper case", strings.ToUpper(k1.String()[:12]), k1, ""},
		{"ambiguous", k1.String()[:4], key.NodePublic{}, "matches 2 join requests"},
		{"too short", k1.String()[:3], key.NodePublic{}, "no pending join request"},
		{"unknown", "laptop", key.NodePublic{}, "no pending join request"},
	}
	for _, tt := range tests {
		got, err := resolveRequestLocked(n, tt.q, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %v %v", tt.name, got.ShortString(), err)
		}
	}
}

// TestAwaitJoin: the approval wait starts when the admin says pending;
// a silent admin is given up on; Ctrl-C leaves the request waiting.
func TestAwaitJoin(t *testing.T) {
	tests := []struct {
		name  string
		steps func(result chan error, pending chan struct{}, cancel func())
		after time.Duration // when awaitJoin returns (virtual time)
		want  string        // error text, "" for success
	}{
		{"admitted after 20s", func(r chan error, _ chan struct{}, _ func()) {
			time.Sleep(20 * time.Second)
			r <- nil
		}, 20 * time.Second, ""},
		{"no answer", func(chan error, chan struct{}, func()) {}, joinAnswerWait, "did not answer"},
		{"pending, then the wait ends", func(_ chan error, p chan struct{}, _ func()) {
			time.Sleep(25 * time.Second)
			p <- struct{}{}
		}, 25*time.Second + time.Minute, ErrPending.Error()},
		{"pending, then accepted", func(r chan error, p chan struct{}, _ func()) {
			p <- struct{}{}
			time.Sleep(50 * time.Second)
			r <- nil
		}, 50 * time.Second, ""},
		{"pending, then denied", func(r chan error, p chan struct{}, _ func()) {
			p <- struct{}{}
			time.Sleep(10 * time.Second)
			r <- errors.New("denied")
		}, 10 * time.Second, "denied"},
		{"Ctrl-C", func(_ chan error, p chan struct{}, cancel func()) {
			p <- struct{}{}
			time.Sleep(5 * time.Second)
			cancel()
		}, 5 * time.Second, ErrPending.Error()},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			result, pending := make(chan error, 1), make(chan struct{}, 1)
			go tt.steps(result, pending, cancel)
			start := time.Now()
			err := awaitJoin(ctx, result, pending, time.Minute)
			if took := time.Since(start); took != tt.after {
				t.Errorf("%s: returned after %v, want %v", tt.name, took, tt.after)
			}
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
			}
			synctest.Wait()
		})
	}
}
