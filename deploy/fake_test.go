package deploy

import (
	"context"
	"errors"
)

// imageTarget is a Target that only reads: it runs the image named by its
// own name, or fails to read when named "gone".
type imageTarget string

func (t imageTarget) String() string { return string(t) }

func (t imageTarget) Read(context.Context) (State, error) {
	if t == "gone" || t == "reg/app:gone" {
		return State{}, errors.New("tag not found")
	}
	return State{Image: string(t)}, nil
}

func (t imageTarget) Prepare(context.Context, State, Build) (*Plan, error) {
	return nil, errors.New("read-only")
}
func (t imageTarget) Apply(context.Context, *Plan) error { return errors.New("read-only") }
func (t imageTarget) Wait(context.Context, *Plan) (State, error) {
	return State{}, errors.New("read-only")
}
