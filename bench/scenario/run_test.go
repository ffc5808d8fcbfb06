package scenario

import (
	"reflect"
	"testing"
	"time"
)

func TestThroughput(t *testing.T) {
	cases := []struct {
		name   string
		series []int64
		from   int
		want   []float64
		mean   float64
	}{
		{"skips connect phase and trailing silence", []int64{0, 5, 10, 20, 0, 10, 0, 0}, 2, []float64{40, 80, 0, 40}, 40},
		{"nothing after push start", []int64{3, 0}, 1, []float64{}, 0},
		{"from beyond the series", []int64{1}, 4, []float64{}, 0},
		{"negative start clamps", []int64{2, 2}, -3, []float64{8, 8}, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := throughput(c.series, 250*time.Millisecond, c.from)
			if !reflect.DeepEqual(got.PerSecond, c.want) || got.Mean != c.mean || got.StepSeconds != 0.25 {
				t.Fatalf("got %+v, want %v mean %v", got, c.want, c.mean)
			}
		})
	}
}

func TestSeriesStep(t *testing.T) {
	if seriesStep(2*time.Second) != 250*time.Millisecond || seriesStep(time.Minute) != time.Second {
		t.Fatal("series step")
	}
}
