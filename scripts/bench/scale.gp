# gnuplot script of make bench-scale: gnuplot -e "tsv='scale.tsv'; out='scale.png'" scale.gp
set terminal pngcairo size 960,430 font "sans,10"
set output out
set multiplot layout 1,2 title "artprune prune (dry run) against the emulator in another process, no latency, 2 cores"
set logscale xy
set grid
set key top left
set xlabel "manifest folders"
set format x "%.0s%c"
stats tsv using 1 nooutput
set xrange [STATS_min/2:(STATS_max*2 > 2e6 ? STATS_max*2 : 2e6)]
set ylabel "seconds"
set title "time"
stats tsv using 2 nooutput
wmin = STATS_min
stats tsv using 4 nooutput
set yrange [(wmin < STATS_min ? wmin : STATS_min)/2:(STATS_max*2 > 400 ? STATS_max*2 : 400)]
set arrow 1 from graph 0, first 120 to graph 1, first 120 nohead dt 2 lc rgb "red"
set label 1 "target at 1M: 2 minutes" at graph 0.55, first 150 tc rgb "red"
plot tsv using 1:2 with linespoints lw 2 pt 7 title "wall", \
     tsv using 1:4 with linespoints lw 2 pt 5 title "CPU (user + system)"
unset arrow 1
unset label 1
set ylabel "MiB"
set title "peak RSS"
stats tsv using 3 nooutput
set yrange [STATS_min/2:(STATS_max*2 > 1500 ? STATS_max*2 : 1500)]
set arrow 2 from graph 0, first 512 to graph 1, first 512 nohead dt 2 lc rgb "red"
set label 2 "target at 1M: 512 MiB" at graph 0.55, first 600 tc rgb "red"
plot tsv using 1:3 with linespoints lw 2 pt 7 title "peak RSS"
unset multiplot
