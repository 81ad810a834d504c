// Package guestproto is the wire protocol between the microVM runner on the
// worker and the agent that is the guest's /init: framed messages on the
// guest's control serial port, and the JSON they carry.
//
// It uses the standard library only, because the agent is a small static
// binary. It owns the message formats, nothing about how either side acts
// on them. Everything the host reads from the guest is untrusted: the
// decoder bounds every length before it allocates.
package guestproto
