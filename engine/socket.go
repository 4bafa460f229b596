package engine

import (
	"net"
)

// listenUDP opens the engine's UDP socket on port, or on a random port if
// port is taken: through Config.ListenPacket if set, else the OS's (with
// its buffers grown).
func (e *Engine) listenUDP(port int) (net.PacketConn, error) {
	listen := e.cfg.ListenPacket
	if listen == nil {
		listen = e.listenOS
	}
	pc, err := listen(uint16(port))
	if err != nil && port != 0 {
		e.log.Warn("UDP port taken, using a random port", "port", port, "err", err)
		pc, err = listen(0)
	}
	return pc, err
}

func (e *Engine) listenOS(port uint16) (net.PacketConn, error) {
	ip := net.IP(nil)
	if e.cfg.ListenAddr.IsValid() {
		ip = e.cfg.ListenAddr.AsSlice()
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: int(port)})
	if err != nil {
		return nil, err
	}
	growBuffers(udp)
	return udp, nil
}
