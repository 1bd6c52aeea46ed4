#!/bin/sh
# The peers bench's table (markdown, to stdout) and chart (report.svg
# beside RES): medians of the runs of each system and step, the spread of
# the wall times (min-max: this is what the machine's noise does), ratios
# to ABS in direct mode, and each restore's check.
# Usage: report.sh RES RUNS "SYSTEMS" ENTRIES BYTES
RES=$1 RUNS=$2 SYS=$3 ENTRIES=$4 BYTES=$5
for s in $SYS; do
	for st in full restore incr restore-chain; do
		r=1
		while [ $r -le "$RUNS" ]; do
			f=$RES/$s.$st.$r
			if [ -f "$f" ]; then
				tb=-
				case $st in
				full) tb=$(cat "$RES/$s.tape-full.$r" 2>/dev/null || echo -) ;;
				incr) tb=$(cat "$RES/$s.tape-incr.$r" 2>/dev/null || echo -) ;;
				esac
				chk=$(cat "$RES/$s.$st.check.$r" 2>/dev/null || echo ok)
				echo "$s|$st|$r|$(tr ' ' '|' <"$f")|$tb|$chk"
			fi
			r=$((r + 1))
		done
	done
done | awk -F'|' -v sys="$SYS" -v entries="$ENTRIES" -v bytes="$BYTES" \
    -v runs="$RUNS" -v svg="$(dirname "$RES")/report.svg" '
function med(key, what,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = v[key, what, i]
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n == 0) return -1
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function tmed(key,   n, i, j, t, a) {
	n = tcnt[key]
	for (i = 1; i <= n; i++) a[i] = tv[key, i]
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (n == 0) return -1
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(key, what,   i, m) {
	m = v[key, what, 1]
	for (i = 2; i <= cnt[key]; i++) if (v[key, what, i] < m) m = v[key, what, i]
	return m
}
function hi(key, what,   i, m) {
	m = v[key, what, 1]
	for (i = 2; i <= cnt[key]; i++) if (v[key, what, i] > m) m = v[key, what, i]
	return m
}
function ratio(a, b) { return (b > 0 && a >= 0) ? sprintf("%.2f", a / b) : "-" }
function human(b) {
	if (b == "-" || b < 0) return "-"
	if (b >= 1e9) return sprintf("%.2f GB", b / 1e9)
	if (b >= 1e6) return sprintf("%.1f MB", b / 1e6)
	return sprintf("%.0f kB", b / 1e3)
}
{
	key = $1 SUBSEP $2
	n = ++cnt[key]
	v[key, "wall", n] = $4; v[key, "cpu", n] = $5; v[key, "mb", n] = $6
	if ($7 != "-") { tn = ++tcnt[key]; tv[key, tn] = $7; tapes[key] = 1 }
	if ($8 != "ok") bad[key] = bad[key] (bad[key] ? "; " : "") "run " $3 ": " $8
}
END {
	ns = split(sys, S, " ")
	nt = split("full restore incr restore-chain", ST, " ")
	name["abs"] = "ABS (abs-engine direct)"; name["ctld"] = "ABS through abs-ctld"
	name["amanda"] = "Amanda 3.5.1"; name["bacula"] = "Bacula 9.6.7"
	sn["full"] = "full backup"; sn["restore"] = "restore of the full"
	sn["incr"] = "incremental"; sn["restore-chain"] = "restore of full + incremental"
	printf "Tree: %d entries, %s of files (hard links once); medians of up to %d runs (min-max beside them).\n\n", entries, human(bytes), runs
	print "| system | step | wall s (min-max) | CPU s (min-max) | peak MB | tape | wall / ABS | CPU / ABS | tape / ABS | restore check | runs |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
	for (t = 1; t <= nt; t++) {
		a = "abs" SUBSEP ST[t]
		for (i = 1; i <= ns; i++) {
			k = S[i] SUBSEP ST[t]
			if (!cnt[k]) { printf "| %s | %s | failed | | | | | | | |\n", name[S[i]], sn[ST[t]]; continue }
			w = med(k, "wall"); c = med(k, "cpu"); m = med(k, "mb")
			tp = (k in tapes) ? tmed(k) : -1
			at = (a in tapes) ? tmed(a) : -1
			chk = (k in bad) ? bad[k] : (ST[t] ~ /restore/ ? "ok" : "")
			printf "| %s | %s | %.1f (%.1f-%.1f) | %.2f (%.2f-%.2f) | %.0f | %s | %s | %s | %s | %s | %d |\n",
			    name[S[i]], sn[ST[t]], w, lo(k, "wall"), hi(k, "wall"), c, lo(k, "cpu"), hi(k, "cpu"), m,
			    (tp >= 0 ? human(tp) : ""), (S[i] == "abs" ? "1" : ratio(w, med(a, "wall"))),
			    (S[i] == "abs" ? "1" : ratio(c, med(a, "cpu"))),
			    (tp >= 0 ? (S[i] == "abs" ? "1" : ratio(tp, at)) : ""), chk, cnt[k]
			W[i, t] = w; C[i, t] = c
		}
	}
	# The chart: wall and CPU seconds by step, a bar per system.
	cw = 620; ph = 190; top = 40; left = 50; gw = (cw - left - 10) / nt
	col[1] = "#1f77b4"; col[2] = "#6baed6"; col[3] = "#ff7f0e"; col[4] = "#2ca02c"
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", cw, (2 * ph + 2 * top + 40) > svg
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n" > svg
	for (p = 0; p < 2; p++) {
		y0 = top + p * (ph + top) ; max = 0
		for (i = 1; i <= ns; i++) for (t = 1; t <= nt; t++) {
			x = (p ? C[i, t] : W[i, t]); if (x > max) max = x }
		if (max <= 0) max = 1
		title = p ? "CPU seconds of every process of the system (lower is better)" : "Wall seconds (lower is better)"
		printf "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>\n", left, y0 - 12, title > svg
		printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, y0 + ph, cw - 10, y0 + ph > svg
		printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.0f</text>\n", left - 4, y0 + 10, max > svg
		printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", left - 4, y0 + ph > svg
		bw = (gw - 16) / ns
		for (t = 1; t <= nt; t++) {
			gx = left + (t - 1) * gw + 8
			if (p) printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", gx + (gw - 16) / 2, y0 + ph + 14, sn[ST[t]] > svg
			for (i = 1; i <= ns; i++) {
				x = (p ? C[i, t] : W[i, t]); h = x / max * ph * 0.9
				printf "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %.2f s</title></rect>\n", gx + (i - 1) * bw, y0 + ph - h, bw - 2, h, col[i], name[S[i]], sn[ST[t]], x > svg
				printf "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\">%.1f</text>\n", gx + (i - 0.5) * bw, y0 + ph - h - 2, x > svg
			}
		}
	}
	for (i = 1; i <= ns; i++) {
		printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", left + (i - 1) * 140, 2 * ph + 2 * top + 20, col[i], left + (i - 1) * 140 + 14, 2 * ph + 2 * top + 29, name[S[i]] > svg
	}
	print "</svg>" > svg
}'
