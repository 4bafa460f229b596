# vswg.awk: passes anchors.sh output through and, after its table, adds
# each config's TCP throughput as a ratio to wireguard-go's (wg1420) and
# the VPN CPU per Gbit/s of single-stream TCP (% of a core per Gbit/s).
{ print; fflush() }
$1 == "config" && $2 == "TCP1_Mb/s" { intable = 1; n = 0; next }
intable && /^#/ { intable = 0; report() }
intable && NF >= 12 { n++; name[n] = $1; t1[n] = $2; t4[n] = $4; split($11, c, "/"); cpu[n] = c[1] }
function ratio(a, b) { return (a == "NA" || b == "NA" || b == 0) ? "-" : sprintf("%.3f", a / b) }
function report(  i, w) {
  for (i = 1; i <= n; i++) if (name[i] ~ /^wg/) w = i
  if (!w) return
  printf "\n# versus %s: TCP ratios, and VPN CPU (%% of a core) per Gbit/s of single-stream TCP\n", name[w]
  printf "%-10s %8s %8s %12s\n", "config", "TCP1_xwg", "TCP4_xwg", "cpu%/Gbit/s"
  for (i = 1; i <= n; i++) {
    if (name[i] == "raw") continue
    printf "%-10s %8s %8s %12s\n", name[i], ratio(t1[i], t1[w]), ratio(t4[i], t4[w]),
      (t1[i] == "NA" || t1[i] == 0 || cpu[i] == "NA") ? "-" : sprintf("%.1f", cpu[i] / (t1[i] / 1000))
  }
  fflush()
}
