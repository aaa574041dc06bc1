Netid State      Recv-Q Send-Q   Local Address:Port   Peer Address:Port  Process
u_dgr ESTAB      0      0                    * 153701            * 153702
u_seq ESTAB      0      0                    * 153703            * 153704
u_str ESTAB      0      0                    * 153699            * 153700
u_str ESTAB      0      0      @socklab-golden 153700            * 153699
u_seq ESTAB      0      0                    * 153704            * 153703
u_dgr ESTAB      0      0                    * 153702            * 153701
u_str LISTEN     0      4      @socklab-golden 153698            * 0
udp   UNCONN     0      0            127.0.0.1:54121       0.0.0.0:*
udp   UNCONN     0      0                [::1]:47645          [::]:*
udp   ESTAB      0      0                [::1]:51631         [::1]:47645
tcp   LISTEN     0      8            127.0.0.1:58935       0.0.0.0:*
tcp   LISTEN     0      4            127.0.0.1:39847       0.0.0.0:*
tcp   SYN-RECV   0      0            127.0.0.1:39847     127.0.0.1:56632
tcp   ESTAB      0      0            127.0.0.1:43698     127.0.0.1:58935
tcp   FIN-WAIT-2 0      0            127.0.0.1:43712     127.0.0.1:58935
tcp   ESTAB      0      0            127.0.0.1:56632     127.0.0.1:39847
tcp   CLOSE-WAIT 1      0            127.0.0.1:58935     127.0.0.1:43712
tcp   ESTAB      0      0            127.0.0.1:58935     127.0.0.1:43698
tcp   LISTEN     0      8                [::1]:38965          [::]:*
tcp   ESTAB      0      0                [::1]:58666         [::1]:38965
tcp   TIME-WAIT  0      0                [::1]:58674         [::1]:38965
tcp   ESTAB      0      0                [::1]:38965         [::1]:58666
