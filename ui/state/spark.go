package state

import (
	"fmt"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Spark is one sparkline of a peer's recent history: the samples oldest
// first, each scaled to 0..1 of the largest, and a caption with the last
// value and the peak.
type Spark struct {
	Label   string
	Caption string
	// Points are the samples scaled to 0..1 (all 0 when every sample is).
	Points []float32
}

// PeerSparks are the round-trip, inbound and outbound sparklines of a
// peer's history (the last five minutes), or nil before the first sample.
func PeerSparks(p apitype.Peer) []Spark {
	h := p.History
	if h == nil {
		return nil
	}
	// At most the ring's length, the same for the three lines, newest
	// kept: a daemon sending more or uneven slices draws no more.
	n := min(len(h.RTTMs), len(h.RxBps), len(h.TxBps), apitype.HistorySamples)
	if n == 0 {
		return nil
	}
	span := fmt.Sprintf("last %s", spanText(n*h.IntervalS))
	rate := func(v uint64) string { return FormatBytes(v) + "/s" }
	return []Spark{
		spark("Round trip", last(h.RTTMs, n), func(v float64) string { return FormatRTT(v) }, span),
		spark("In", toFloats(last(h.RxBps, n)), func(v float64) string { return rate(uint64(v)) }, span),
		spark("Out", toFloats(last(h.TxBps, n)), func(v float64) string { return rate(uint64(v)) }, span),
	}
}

// last returns the last n elements of v (n <= len(v)).
func last[T any](v []T, n int) []T { return v[len(v)-n:] }

func spark(label string, vals []float64, format func(float64) string, span string) Spark {
	peak := 0.0
	for _, v := range vals {
		peak = max(peak, v)
	}
	pts := make([]float32, len(vals))
	if peak > 0 {
		for i, v := range vals {
			pts[i] = float32(max(v, 0) / peak)
		}
	}
	return Spark{
		Label:   label,
		Caption: fmt.Sprintf("now %s · peak %s (%s)", format(vals[len(vals)-1]), format(peak), span),
		Points:  pts,
	}
}

func toFloats(v []uint64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func spanText(secs int) string {
	if secs < 60 {
		return fmt.Sprintf("%d s", secs)
	}
	return fmt.Sprintf("%d min", (secs+30)/60)
}
