
aliceéaliceoncology"oncology*patients-eu8Ba100RÀpZÀö×