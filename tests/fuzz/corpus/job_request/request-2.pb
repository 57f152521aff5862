
aliceéaliceoncology"oncology*patients-eu*no-such-dataset2gpu-us-h1008ZÀö×