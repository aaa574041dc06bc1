State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
SYN-RECV   0      0          127.0.0.1:39847    127.0.0.1:56632
ESTAB      0      0          127.0.0.1:43698    127.0.0.1:58935
FIN-WAIT-2 0      0          127.0.0.1:43712    127.0.0.1:58935
ESTAB      0      0          127.0.0.1:56632    127.0.0.1:39847
CLOSE-WAIT 1      0          127.0.0.1:58935    127.0.0.1:43712
ESTAB      0      0          127.0.0.1:58935    127.0.0.1:43698
