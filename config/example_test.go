package config_test

import (
	"fmt"

	"github.com/corebridge/corebridge/config"
)

func ExampleParse() {
	cfg, err := config.Parse([]byte(`
name = "bridge-a"
nats {
  listen = "0.0.0.0:4222"
}
limits {
  max_value_size = "4MiB"
}
`), "bridge.hcl")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Name, cfg.NATS.Listen, cfg.NATS.Embedded(), cfg.Limits.MaxValueSize)
	fmt.Println(cfg.DataDir, cfg.JetStream.Stream, cfg.JetStream.Replicas) // defaults

	_, err = config.Parse([]byte("jetstream {\n  replicas = 0\n}\n"), "bridge.hcl")
	fmt.Println(err)
	// Output:
	// bridge-a 0.0.0.0:4222 true 4194304
	// ./data COREBRIDGE 1
	// bridge.hcl:2,14-15: Invalid replicas; jetstream.replicas is 0; JetStream keeps 1 to 5 copies of a stream.
}
