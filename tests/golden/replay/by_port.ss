Port   Total  ESTAB  SYN-RECV  FIN-WAIT-2  TIME-WAIT  CLOSE-WAIT  LISTEN
58935      5      2         0           1          0           1       1
38965      4      2         0           0          1           0       1
39847      3      1         1           0          0           0       1
