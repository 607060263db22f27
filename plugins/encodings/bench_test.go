package encodings_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/corebridge/corebridge/plugins"
	"github.com/corebridge/corebridge/plugins/encodings"
)

// BenchmarkEncode measures the cost per value of Encode, in the host and
// through a plugin process, for batches of 1 and 100 small JSON values.
func BenchmarkEncode(b *testing.B) {
	value := []byte(`{"sensor":"greenhouse-3","temperature":21.5,"humidity":0.43,"ts":1732526400}`)
	for _, name := range []string{"json", "msgpack", "binary"} {
		for _, way := range []string{"inprocess", "process"} {
			for _, n := range []int{1, 100} {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", name, way, n), func(b *testing.B) {
					ctx := context.Background()
					spec := encodings.Spec{Builtins: encodings.Builtins(), Name: name, InProcess: way == "inprocess"}
					if way == "process" {
						cmd := plugins.TestCommand(plugins.KindEncoding, name)
						spec.Command = &cmd
					}
					e, closer, err := encodings.Open(ctx, spec, nil)
					if err != nil {
						b.Fatal(err)
					}
					defer closer.Close()
					format := encodings.FormatDefault
					if name == "msgpack" {
						format = encodings.FormatJSON
					}
					batch := make([][]byte, n)
					for i := range batch {
						batch[i] = value
					}
					b.SetBytes(int64(n * len(value)))
					b.ResetTimer()
					for b.Loop() {
						if _, err := e.Encode(ctx, format, batch); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
				})
			}
		}
	}
}
