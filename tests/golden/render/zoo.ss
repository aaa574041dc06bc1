Netid State      Recv-Q     Send-Q                            Local Address:Port                              Peer Address:Port Process
tcp   LISTEN     0          0                                     127.0.0.1:6666                                   0.0.0.0:*
tcp   SYN-SENT   0          0                                     127.0.0.1:6666                                 127.0.0.1:40001
tcp   SYN-RECV   0          0                                     127.0.0.1:6666                                 127.0.0.1:40002
tcp   ESTAB      0          0                                     127.0.0.1:6666                                 127.0.0.1:40003
tcp   FIN-WAIT-1 0          0                                     127.0.0.1:6666                                 127.0.0.1:40004
tcp   FIN-WAIT-2 0          0                                     127.0.0.1:6666                                 127.0.0.1:40005
tcp   CLOSE-WAIT 0          0                                     127.0.0.1:6666                                 127.0.0.1:40006
tcp   CLOSING    0          0                                     127.0.0.1:6666                                 127.0.0.1:40007
tcp   LAST-ACK   0          0                                     127.0.0.1:6666                                 127.0.0.1:40008
tcp   TIME-WAIT  0          0                                     127.0.0.1:6666                                 127.0.0.1:40009
tcp   SYN-RECV   0          0                                     127.0.0.1:6666                                 127.0.0.1:40010
tcp   UNCONN     0          0                                     127.0.0.1:6666                                 127.0.0.1:40011
tcp   UNCONN     0          0                                     127.0.0.1:6666                                 127.0.0.1:40012
tcp   UNKNOWN    0          0                                     127.0.0.1:6666                                 127.0.0.1:40013
tcp   ESTAB      4294967295 123456                                    [::1]:22                 [fe80::1234:5678:9abc:def0]:65535
tcp   CLOSE-WAIT 7          0      [2001:db8:1111:2222:3333:4444:5555:6666]:65535 [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:1
tcp   ESTAB      0          0                             [::ffff:10.1.2.3]:443                   [::ffff:192.168.200.201]:51515
udp   UNCONN     0          0                                       0.0.0.0:53                                     0.0.0.0:*
udp   ESTAB      768        0                                         [::1]:5353                                     [::1]:5354
raw   UNCONN     0          0                                       0.0.0.0:1                                      0.0.0.0:*
u_str LISTEN     0          4096                              /run/app.sock 7001                                         * 0
u_str ESTAB      0          0                                             * 7002                                         * 7003
u_dgr UNCONN     0          0                                @abstractname 7004                                         * 0
u_seq ESTAB      0          0                                  /tmp/a,"b"
c 7005                                         * 7006
u_dgr UNCONN     2304       0                            /tmp/badÿþ-utf8-Ã© 7007                                         * 0
